import { keyValueStoreEndpoint } from './kvs-client';

describe('keyValueStoreEndpoint: a host the account can go before', () => {
  it.each([
    [{}, undefined],
    [{ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, 'http://localhost:4566'],
    [{ AWS_ENDPOINT_URL: 'http://[::1]:4566/' }, 'http://localhost:4566/'],
    [{ AWS_ENDPOINT_URL: 'https://aws.internal.example' }, undefined],
    [
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: 'http://kvs.test' },
      undefined,
    ],
  ])('%j: %s', (env, endpoint) => {
    expect(keyValueStoreEndpoint(env)).toBe(endpoint);
  });

  it('refuses another address, naming the variable that fixes it', () => {
    expect(() => keyValueStoreEndpoint({ AWS_ENDPOINT_URL: 'http://10.0.0.5:4566' })).toThrow(
      /AWS_ENDPOINT_URL \(http:\/\/10\.0\.0\.5:4566\) names its host by address.*set AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE/,
    );
  });
});

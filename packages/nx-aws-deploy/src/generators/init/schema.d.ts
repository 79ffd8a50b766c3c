export interface InitGeneratorSchema {
  project?: string;
  bucket?: string;
  distributionId?: string;
  prefix?: string;
  releaseMode?: 'atomic' | 'in-place';
  keyValueStoreArn?: string;
  skipFormat?: boolean;
}

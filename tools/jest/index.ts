export { tempDir } from './scratch';
export { SOAK, trials } from './soak';

export interface InitGeneratorSchema {
  project?: string;
  bucket?: string;
  distributionId?: string;
  prefix?: string;
  skipFormat?: boolean;
}

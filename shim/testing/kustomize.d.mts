// Types of shim/testing/kustomize.mjs for the e2e tests' TypeScript (the shim checks the .mjs through JSDoc).
export declare const DEPLOY_DIR: string;
export declare const SHIM_HOST: string;
export declare function exampleNames(): Promise<string[]>;
export declare function makeServingCertificate(dir: string): Promise<{ cert: string; key: string }>;
export declare function parseDocuments(text: string, what: string): any[];
export declare function renderExample(name: string): Promise<{ docs: any[]; caPem: string }>;
export declare function shimEnv(docs: any[]): Record<string, string>;

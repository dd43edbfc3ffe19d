// Types of shim/limits.mjs for the Worker's TypeScript (the shim itself checks the .mjs through JSDoc).
export declare const ADMISSION_MAX_BODY_BYTES: number;

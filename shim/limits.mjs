// Limits the shim and the Worker share: the Worker imports this file (worker/routes/admission.ts), the shim's image copies it.
// @ts-check

/**
 * The largest AdmissionReview either side accepts. The API server refuses request bodies over 3 MiB and
 * etcd stores objects of at most 1.5 MiB, but an UPDATE's review carries the object and its old version,
 * as JSON, in an envelope: 6 MiB holds a 3 MiB object next to its old version with room to spare.
 */
export const ADMISSION_MAX_BODY_BYTES = 6 * 1024 * 1024;

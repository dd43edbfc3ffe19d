// The TUF client's bounds under the name it uses; the numbers and why each is what it is live in
// `src/limits.ts` (`Limits.tuf`).
import { DEFAULT_LIMITS } from "../../limits";

export const TUF_LIMITS = DEFAULT_LIMITS.tuf;

// DSSE's pre-authentication encoding, what a DSSE signature signs.
import { concatBytes, utf8 } from "../../shared/encoding";

/** "DSSEv1 <len(type)> <type> <len(payload)> <payload>", lengths in bytes, decimal. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

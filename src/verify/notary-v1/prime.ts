// Compiles the Notary verifier's parsers when the isolate starts, not in its first decision.
//
// V8 compiles a function on its first call. Measured inside workerd (bench/README.md, "first run"),
// that first-call cost of the parsers (certificate DER, role envelopes, canonical JSON) was most of
// the first cold Notary decision's CPU: ~11 ms against ~1.2 ms once compiled, past the 10 ms a
// request may use on the Workers free plan. The Worker runs this at global scope (worker/index.ts),
// where only synchronous work is allowed and the startup limit, not a request's, applies.
//
// The sample is a root role made by the notary CLI for this repository's test vectors
// (test/vectors/notary-v1/alice-signed/root.json): a certificate root key and three ECDSA keys.
import { encodeCanonical } from "../shared/canonical-json";
import { parseCertificate } from "../shared/der";
import { base64Decode, parsePem } from "../shared/encoding";
import { keyMaterial } from "./keys";
import { parseEnvelope, parseRoot, parseSnapshot, parseTargets, parseTimestamp } from "./roles";

const SAMPLE_ROOT = "{\"signed\":{\"_type\":\"Root\",\"consistent_snapshot\":false,\"expires\":\"2036-11-19T22:35:17.277990886Z\",\"keys\":{\"5dbb545f3e14c0a2a64d17c7c199d6be3edc1573b63cd50e949da6d46cf10914\":{\"keytype\":\"ecdsa\",\"keyval\":{\"private\":null,\"public\":\"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcTOt2wqut3jLGNeJoDwyGzEzkfn2lxUN0ke2fShv6kh8xhWabUvAYCckBFXk7jO2JC5039SV7k0gTiR1ENtPag==\"}},\"714165c6011355f01e44d195ad55a0fc702d7f3913928fb428556fdc8456a089\":{\"keytype\":\"ecdsa\",\"keyval\":{\"private\":null,\"public\":\"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEM17XXWziERLlJLsDO9czLhRP8G/bNx41XxkbGCWNO09wD5cndUwY8k8yotGikuKw1EOnBaVK9p9Hjp/TjJCHOQ==\"}},\"8ec3c4ff7c0a84bff709eb77529700dd9251436ffebcb160a91737a2e7870061\":{\"keytype\":\"ecdsa\",\"keyval\":{\"private\":null,\"public\":\"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGNS+ii1jfjq7dXHSDIzWN8g8KZPnfKr/DPPQpMUJxmFCNw7UVcO/C0ivUT3c6PHKsSKaoszT73Y7iSH84HLZrA==\"}},\"ee9d969ecc9ca3ab4c09f5ef3e0cde494bb86c5635c2a681d3ba770a7cea226a\":{\"keytype\":\"ecdsa-x509\",\"keyval\":{\"private\":null,\"public\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVI2Z0F3SUJBZ0lSQUp0Qk96Yno2UnFWUHhCb0V2TE5CQ0F3Q2dZSUtvWkl6ajBFQXdJd0lqRWcKTUI0R0ExVUVBeE1YTVRJM0xqQXVNQzR4T2pVd01EQXZaR1Z0Ynk5aGNIQXdIaGNOTWpZeE1USXlNakl6TlRFMwpXaGNOTXpZeE1URTVNakl6TlRFM1dqQWlNU0F3SGdZRFZRUURFeGN4TWpjdU1DNHdMakU2TlRBd01DOWtaVzF2CkwyRndjREJaTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEEwSUFCQm84ajZMdGFOTit2SjByTDZ4NEVHSDUKVnZoQXR6Y1A2ZlU1bklHYmJjZEtldHVNTU9uVEJMZTl0a2tHOHBaQnVVemY0WURGME5vM2NBZ2twU2c4QkN5agpOVEF6TUE0R0ExVWREd0VCL3dRRUF3SUZvREFUQmdOVkhTVUVEREFLQmdnckJnRUZCUWNEQXpBTUJnTlZIUk1CCkFmOEVBakFBTUFvR0NDcUdTTTQ5QkFNQ0EwY0FNRVFDSUdobDFkYVZ6NktxUVM1MWVnMUdoa1lHK3pvQWhuN0kKNUlGQUlaUGNYZmxUQWlCTThiZk02VXBSa2N6Y3YvT2dHaW5mbXNkUEd0VjBOOEdleHNtRkFmSlYvZz09Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K\"}}},\"roles\":{\"root\":{\"keyids\":[\"ee9d969ecc9ca3ab4c09f5ef3e0cde494bb86c5635c2a681d3ba770a7cea226a\"],\"threshold\":1},\"snapshot\":{\"keyids\":[\"714165c6011355f01e44d195ad55a0fc702d7f3913928fb428556fdc8456a089\"],\"threshold\":1},\"targets\":{\"keyids\":[\"5dbb545f3e14c0a2a64d17c7c199d6be3edc1573b63cd50e949da6d46cf10914\"],\"threshold\":1},\"timestamp\":{\"keyids\":[\"8ec3c4ff7c0a84bff709eb77529700dd9251436ffebcb160a91737a2e7870061\"],\"threshold\":1}},\"version\":2},\"signatures\":[{\"keyid\":\"ee9d969ecc9ca3ab4c09f5ef3e0cde494bb86c5635c2a681d3ba770a7cea226a\",\"method\":\"ecdsa\",\"sig\":\"fg43H3XUj0hxDVEXzXvcOLLVuwwNULmvKEJ+wq53T/g+Iu0W7liqCnLUDWg/XjFkofF/zgD7tZuuytb0/GFFDQ==\"}]}";

const day = "2030-01-01T00:00:00Z";
const meta = { length: 1, hashes: { sha256: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" } };

/** Runs the parsers over the sample; returns how many keys it decoded. Never throws. */
export function primeNotaryParsers(): number {
  try {
    const envelope = parseEnvelope(new TextEncoder().encode(SAMPLE_ROOT), "root");
    encodeCanonical(envelope.signed);
    const root = parseRoot(envelope.signed);
    let keys = 0;
    for (const key of root.keys.values()) {
      keyMaterial(key);
      keys++;
    }
    for (const key of root.keys.values()) {
      if (!key.keytype.endsWith("-x509")) continue;
      const pem = parsePem(new TextDecoder().decode(key.public))?.[0];
      if (pem) parseCertificate(pem.der);
    }
    parseTimestamp({ _type: "Timestamp", version: 1, expires: day, meta: { snapshot: meta } });
    parseSnapshot({ _type: "Snapshot", version: 1, expires: day, meta: { root: meta, targets: meta } });
    parseTargets(
      {
        _type: "Targets",
        version: 1,
        expires: day,
        targets: { v1: meta },
        delegations: { keys: {}, roles: [{ name: "targets/releases", keyids: [], threshold: 1, paths: [""] }] },
      },
      "targets",
    );
    base64Decode("AAAA");
    return keys;
  } catch {
    // Priming only saves time; a sample that no longer parses must not stop the Worker starting.
    return 0;
  }
}

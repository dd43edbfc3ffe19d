// wrangler.toml's Data rule: a .json import is the file's bytes, not parsed JSON.
declare module "*.json" {
  const bytes: ArrayBuffer;
  export default bytes;
}

// The dashboard's files are bundled as text modules (wrangler.toml [[rules]] type = "Text").
declare module "*.html" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.svg" {
  const text: string;
  export default text;
}
declare module "*/dashboard/build/app.js" {
  const text: string;
  export default text;
}

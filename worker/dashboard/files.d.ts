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
declare module "*/dashboard/app.js" {
  const text: string;
  export default text;
}
declare module "*/dashboard/util.js" {
  const text: string;
  export default text;
}
declare module "*/dashboard/chart.js" {
  const text: string;
  export default text;
}
declare module "*/dashboard/overview.js" {
  const text: string;
  export default text;
}
declare module "*/dashboard/verdicts.js" {
  const text: string;
  export default text;
}
declare module "*/dashboard/audit.js" {
  const text: string;
  export default text;
}
declare module "*/dashboard/preview.js" {
  const text: string;
  export default text;
}

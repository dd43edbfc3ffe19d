// Schema validation for the whole project: zod's tree-shakable "mini" build with English messages.
// Import it as a namespace (`import * as z from "./schema"`): the classic zod build, or re-exporting
// the namespace as one value, would put ~420 KiB of zod into the Worker.
import { config, type ZodMiniType, type core } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
export type Schema<T> = ZodMiniType<T>;
export type SchemaError = core.$ZodError;

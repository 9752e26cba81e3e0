/** The reverse-engineering analysis of Section 3.1, 4.2, App. B.2 and C.2 (platform-neutral). */
export * from "./analyze.ts";
export * from "./figures.ts";
export * from "./groups.ts";
export * from "./icl.ts";
export * from "./merge.ts";
export * from "./polynomial.ts";
export * from "./prune.ts";
export * from "./scores.ts";

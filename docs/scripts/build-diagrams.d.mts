/** Types of build-diagrams.mjs, for the playground's TypeScript tests. */

/** Where the diagrams are written. */
export const diagramsDirectory: string;

/** Writes one SVG sequence diagram per playground scenario; resolves with the files written. */
export function buildDiagrams(): Promise<string[]>;

/** The folder of the current build of `root`'s sources (built now if there is none), holding cli.mjs and thread.mjs. */
export function bundle(root?: string): Promise<string>;

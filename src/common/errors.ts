/**
 * The error every layer throws for bad user input: a URL, a name, an option, a workload or result
 * file. Its message names the part at fault in one line; the commands map it to exit code 2.
 * It lives below every layer (the codec, the workload loader and the result reader all throw it),
 * so that none of them has to import it from another.
 */
export class InputError extends Error {
  override readonly name: string = "InputError";
}

import { createRequire } from "node:module";

type Validator = (
  definition: object,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errors: { message?: string; "Error code"?: string; Message?: string }[] };

// asl-validator 4 is CommonJS without type declarations.
const validator = createRequire(import.meta.url)("asl-validator") as Validator;

/**
 * The problems asl-validator finds in a definition, with ARN and JSONPath checks on; [] when valid.
 * It annotates the object it checks, so it gets a copy.
 */
export function aslProblems(definition: object): string[] {
  const { isValid, errors } = validator(structuredClone(definition), { checkArn: true, checkPaths: true });
  return isValid ? [] : errors.map((error) => JSON.stringify(error));
}

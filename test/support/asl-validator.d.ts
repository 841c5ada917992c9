declare module 'asl-validator' {
  export default function validator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): {
    isValid: boolean;
    errors: { 'Error code': string; Message: string }[];
    errorsText: (separator?: string) => string;
  };
}

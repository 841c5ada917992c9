/** The sandbox's fixed credentials (it checks only the signing scope, for the Region). */
export const SANDBOX_CREDENTIALS = { accessKeyId: 'ferry', secretAccessKey: 'ferry-sandbox' } as const;

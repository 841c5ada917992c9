/**
 * The sandbox's fixed credentials (it checks only the signing scope, for the Region). Here rather than in
 * local/ because both sides read them: the sandbox (local/), and the CLI, which signs with them when pointed
 * at it (`--endpoint`) and may not import local/ (biome.json). No Lambda function imports this module.
 */
export const SANDBOX_CREDENTIALS = { accessKeyId: 'ferry', secretAccessKey: 'ferry-sandbox' } as const;

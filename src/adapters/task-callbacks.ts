import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { TaskCallbacks } from '#ec2/copy-machine/copy-waiters';

/**
 * SendTaskSuccess's answers for a task that no longer waits: its token is unknown or malformed
 * (TaskDoesNotExist, InvalidToken), or the task already ended (TaskTimedOut: "the task token has either
 * expired or the task associated with the token has already been closed"):
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html
 */
const TASK_GONE = new Set(['TaskDoesNotExist', 'InvalidToken', 'TaskTimedOut']);

export function stepFunctionsTaskCallbacks(client: SFNClient): TaskCallbacks {
  return {
    async succeed(taskToken, output) {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
        return 'sent';
      } catch (error) {
        if (TASK_GONE.has((error as Error).name)) return 'gone';
        throw error;
      }
    },
  };
}

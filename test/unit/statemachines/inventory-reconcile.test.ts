import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import {
  DISTRIBUTED_MAP_RESOURCE,
  DistributedMapNotEmulatedError,
  withDistributedMapsAsTasks,
} from '#local/distributed-map';
import { loadDefinition, taskStates } from '#local/state-machines';

/** statemachines/inventory-reconcile.asl.yaml: valid ASL, and the shape the emulation and AWS both need. */
const definition = loadDefinition('inventory-reconcile');
type Body = Record<string, unknown>;
const states = definition.States as Record<string, Body>;

describe('inventory-reconcile definition', () => {
  it('It should be valid ASL', () => {
    const result = validator(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('It should fan out on two Distributed Maps that read from S3, batch, bound concurrency and failures', () => {
    for (const name of ['Partition', 'Join']) {
      const map = states[name] as Body;
      expect(map.Type).toBe('Map');
      expect((map.ItemProcessor as Body).ProcessorConfig).toEqual({
        Mode: 'DISTRIBUTED',
        ExecutionType: 'STANDARD',
      });
      expect((map.ItemReader as Body).Resource).toBe('arn:aws:states:::s3:getObject');
      expect(map.ItemBatcher).toMatchObject({ MaxItemsPerBatch: expect.any(Number) });
      expect(map.MaxConcurrency).toBeGreaterThan(0);
      expect(map.ToleratedFailurePercentage).toEqual(expect.any(Number));
    }
    // A data file left unpartitioned would make its replicas look orphaned: no failure is tolerated there.
    expect(states.Partition?.ToleratedFailurePercentage).toBe(0);
    expect(((states.Join as Body).ResultWriter as Body).Resource).toBe('arn:aws:states:::s3:putObject');
  });

  it('It should run as the sandbox runs it: each Distributed Map becomes one emulated Task', () => {
    const { definition: runnable, maps } = withDistributedMapsAsTasks(definition);
    expect([...maps.keys()]).toEqual(['Partition', 'Join']);
    const resources = taskStates(runnable).map(({ resource }) => resource);
    expect(resources.filter((resource) => resource.startsWith(DISTRIBUTED_MAP_RESOURCE))).toHaveLength(2);
    expect((runnable.States as Record<string, Body>).Join).toMatchObject({
      ResultPath: '$.results',
      End: true,
    });
  });

  it('It should refuse a Distributed Map the sandbox cannot run as AWS would', () => {
    const withCsv = structuredClone(definition) as { States: Record<string, Body> };
    (withCsv.States.Join?.ItemReader as Body).ReaderConfig = { InputType: 'CSV' };
    expect(() => withDistributedMapsAsTasks(withCsv)).toThrow(DistributedMapNotEmulatedError);
    const withSelector = structuredClone(definition) as { States: Record<string, Body> };
    (withSelector.States.Join as Body).ItemSelector = { a: 1 };
    expect(() => withDistributedMapsAsTasks(withSelector)).toThrow(/ItemSelector/);
  });
});

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
import { describe, expect, it } from 'vitest';
import {
  CfnResolver,
  pseudoParameters,
  type ResolveEnvironment,
  resolveCfn,
  UnresolvableIntrinsicError,
} from '#deploy/iam-proof/cfn-resolve';

const env: ResolveEnvironment = {
  pseudo: pseudoParameters({ account: '000000000000', region: 'us-east-1', stackName: 'ferry-sandbox' }),
  parameters: { Name: 'writer', Buckets: ['arn:aws:s3:::a', 'arn:aws:s3:::b'], Empty: [''], Flag: 'true' },
  conditions: {
    IsFlag: { 'Fn::Equals': [{ Ref: 'Flag' }, 'true'] },
    HasBuckets: { 'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', { Ref: 'Buckets' }] }, ''] }] },
    HasEmpty: { 'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', { Ref: 'Empty' }] }, ''] }] },
    Both: { 'Fn::And': [{ Condition: 'IsFlag' }, { Condition: 'HasBuckets' }] },
    Either: { 'Fn::Or': [{ Condition: 'HasEmpty' }, { Condition: 'IsFlag' }] },
    Loop: { 'Fn::Not': [{ Condition: 'Loop' }] },
  },
  resources: {
    Queue: {
      ref: 'https://sqs.us-east-1.amazonaws.com/000000000000/q',
      attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:q' },
    },
  },
};

describe('CfnResolver', () => {
  it('It should resolve Ref of pseudo parameters, parameters (lists stay lists) and resources', () => {
    expect(
      resolveCfn(
        [
          { Ref: 'AWS::AccountId' },
          { Ref: 'AWS::Partition' },
          { Ref: 'AWS::Region' },
          { Ref: 'AWS::URLSuffix' },
        ],
        env,
      ),
    ).toEqual(['000000000000', 'aws', 'us-east-1', 'amazonaws.com']);
    expect(resolveCfn({ Ref: 'Buckets' }, env)).toEqual(['arn:aws:s3:::a', 'arn:aws:s3:::b']);
    expect(resolveCfn({ Ref: 'Queue' }, env)).toBe('https://sqs.us-east-1.amazonaws.com/000000000000/q');
  });

  it('It should substitute Fn::Sub with and without a variables map, keeping ${!Literal}', () => {
    expect(
      resolveCfn(
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Name}-${Queue.Arn}' },
        env,
      ),
    ).toBe('arn:aws:iam::000000000000:role/writer-arn:aws:sqs:us-east-1:000000000000:q');
    expect(
      resolveCfn(
        {
          'Fn::Sub': [
            '${Prefix}/${Name}/${!Kept}',
            { Prefix: { 'Fn::Join': ['-', ['x', { Ref: 'AWS::Region' }]] } },
          ],
        },
        env,
      ),
    ).toBe('x-us-east-1/writer/${Kept}');
  });

  it('It should join, split and select', () => {
    expect(resolveCfn({ 'Fn::Join': [',', { Ref: 'Buckets' }] }, env)).toBe('arn:aws:s3:::a,arn:aws:s3:::b');
    expect(
      resolveCfn({ 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] }, env),
    ).toBe('q');
    expect(resolveCfn({ 'Fn::GetAtt': 'Queue.Arn' }, env)).toBe('arn:aws:sqs:us-east-1:000000000000:q');
    expect(() => resolveCfn({ 'Fn::Select': [9, ['a']] }, env)).toThrow(UnresolvableIntrinsicError);
  });

  it('It should pick Fn::If branches by conditions (Equals, And, Or, Not, Condition) and drop AWS::NoValue', () => {
    const resolver = new CfnResolver(env);
    expect(
      ['IsFlag', 'HasBuckets', 'HasEmpty', 'Both', 'Either'].map((name) => resolver.condition(name)),
    ).toEqual([true, true, false, true, true]);
    expect(
      resolveCfn(
        {
          Statement: [
            { 'Fn::If': ['HasEmpty', { Sid: 'Gone' }, { Ref: 'AWS::NoValue' }] },
            {
              'Fn::If': [
                'Both',
                { Sid: 'Kept', Extra: { 'Fn::If': ['HasEmpty', 'x', { Ref: 'AWS::NoValue' }] } },
                'no',
              ],
            },
          ],
        },
        env,
      ),
    ).toEqual({ Statement: [{ Sid: 'Kept' }] });
  });

  it('It should leave a policy statement’s Condition object alone', () => {
    const statement = { Condition: { StringEquals: { 'aws:RequestedRegion': { Ref: 'AWS::Region' } } } };
    expect(resolveCfn(statement, env)).toEqual({
      Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } },
    });
  });

  it.each([
    [{ Ref: 'Nothing' }, /no value for Ref Nothing/],
    [{ 'Fn::GetAtt': ['Queue', 'QueueName'] }, /Queue\.QueueName/],
    [{ 'Fn::ImportValue': 'x' }, /Fn::ImportValue is not supported/],
    [{ 'Fn::If': ['Loop', 'a', 'b'] }, /refers to itself/],
    [{ 'Fn::If': ['Unknown', 'a', 'b'] }, /no condition Unknown/],
  ])('It should refuse %j with a named error', (value, message) => {
    expect(() => resolveCfn(value, env)).toThrow(UnresolvableIntrinsicError);
    expect(() => resolveCfn(value, env)).toThrow(message);
  });
});

import { EC2_FILTER_LIMITS } from '#ec2/copy-kind';
import { Ec2Error, invalidValue, missingParameter } from './errors.ts';
import { checkTag, checkTagCount } from './tag-limits.ts';

/**
 * The parameters of an EC2 query request (`Action=…&SnapshotId.1=…&Filter.1.Value.2=…`), from the form body
 * or the URL. Lists are numbered from 1; structures nest with dots.
 */
export class QueryParams {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  static parse(body: string, url: URL): QueryParams {
    const values = new Map<string, string>(url.searchParams);
    for (const [name, value] of new URLSearchParams(body)) values.set(name, value);
    return new QueryParams(values);
  }

  /** Every parameter but these, in a stable order: what makes two requests the same request. */
  fingerprint(...except: string[]): string {
    return JSON.stringify([...this.values].filter(([name]) => !except.includes(name)).sort());
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  required(name: string): string {
    const value = this.values.get(name);
    if (value === undefined || value === '') throw missingParameter(name);
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.values.get(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw invalidValue(name, value);
    return value === 'true';
  }

  int(name: string): number | undefined {
    const value = this.values.get(name);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isInteger(number)) throw invalidValue(name, value);
    return number;
  }

  /** `Name.1`, `Name.2`, … in index order. */
  list(name: string): string[] {
    return this.indexed(name)
      .filter(([, rest]) => rest === '')
      .map(([, , value]) => value);
  }

  /** The structures `Name.N.*`, each as parameters of its own, in index order. */
  members(name: string): QueryParams[] {
    const groups = new Map<number, Map<string, string>>();
    for (const [index, rest, value] of this.indexed(name)) {
      if (!rest.startsWith('.')) continue;
      const group = groups.get(index) ?? new Map<string, string>();
      group.set(rest.slice(1), value);
      groups.set(index, group);
    }
    return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => new QueryParams(group));
  }

  /** The structure `Name.*` (not a list). */
  sub(name: string): QueryParams {
    const prefix = `${name}.`;
    const values = new Map<string, string>();
    for (const [key, value] of this.values)
      if (key.startsWith(prefix)) values.set(key.slice(prefix.length), value);
    return new QueryParams(values);
  }

  private indexed(name: string): [number, string, string][] {
    const pattern = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)(.*)$`);
    const found: [number, string, string][] = [];
    for (const [key, value] of this.values) {
      const match = pattern.exec(key);
      if (match?.[1]) found.push([Number(match[1]), match[2] ?? '', value]);
    }
    return found.sort(([a], [b]) => a - b);
  }
}

export interface Filter {
  name: string;
  values: string[];
}

/**
 * A describe's filters; EC2 refuses more than 50 filters or 200 values in one of them (EC2_FILTER_LIMITS):
 * `FilterLimitExceeded` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 */
export function filtersOf(params: QueryParams): Filter[] {
  const filters = params
    .members('Filter')
    .map((filter) => ({ name: filter.required('Name'), values: filter.list('Value') }));
  const tooMany = filters.find((filter) => filter.values.length > EC2_FILTER_LIMITS.valuesPerFilter);
  if (filters.length > EC2_FILTER_LIMITS.filters || tooMany)
    throw new Ec2Error(
      'FilterLimitExceeded',
      tooMany
        ? `The maximum number of filter values specified on a single call is ${EC2_FILTER_LIMITS.valuesPerFilter}`
        : `The maximum number of filters specified on a single call is ${EC2_FILTER_LIMITS.filters}`,
    );
  return filters;
}

export interface TagSpecification {
  resourceType: string;
  tags: Map<string, string>;
}

export function tagsOf(params: QueryParams, name = 'Tag'): Map<string, string> {
  const tags = new Map<string, string>();
  for (const tag of params.members(name)) {
    const key = tag.required('Key');
    const value = tag.get('Value') ?? '';
    checkTag(key, value);
    tags.set(key, value);
  }
  return tags;
}

/** `TagSpecification.N.ResourceType` with its `Tag.M.Key/Value`, checked against the types the action tags. */
export function tagSpecificationsOf(params: QueryParams, allowed: readonly string[]): TagSpecification[] {
  return params.members('TagSpecification').map((spec) => {
    const resourceType = spec.required('ResourceType');
    if (!allowed.includes(resourceType)) {
      throw new Ec2Error(
        'InvalidParameterValue',
        `'${resourceType}' is not a valid taggable resource type for this operation.`,
      );
    }
    return { resourceType, tags: tagsOf(spec) };
  });
}

/** The tags every specification of this type asks for, merged: the new resource's tags, within EC2's limit. */
export function tagsFor(specs: readonly TagSpecification[], resourceType: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of specs)
    if (spec.resourceType === resourceType) for (const [k, v] of spec.tags) tags.set(k, v);
  checkTagCount(tags, `a new ${resourceType}`);
  return tags;
}

/**
 * Resolves the CloudFormation intrinsic functions of a template value to plain JSON, as CloudFormation would
 * at deploy time for given pseudo parameters, parameters and resources. The IAM proof evaluates the
 * policies as deployed, not as written: an `Fn::If` on a false condition, an `AWS::NoValue`, a
 * `CommaDelimitedList` parameter expanded into a list all change what a role may do.
 *
 * Semantics after the CloudFormation intrinsic function reference:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
 * - `Ref` of a parameter is its value (a list for `CommaDelimitedList`), of a pseudo parameter its value, of
 *   a resource what that resource type returns (given by the caller: `resources`).
 * - `Fn::Sub` replaces `${Name}` and `${Resource.Attribute}`; `${!Literal}` stays `${Literal}`
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-sub.html).
 * - `Fn::If` picks by a named condition; `AWS::NoValue` removes the property or list item it stands for
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-conditions.html,
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html).
 *
 * Pure: no AWS call, no file.
 */

export class UnresolvableIntrinsicError extends Error {
  constructor(
    message: string,
    readonly at: string,
    options?: ErrorOptions,
  ) {
    super(`${message} (at ${at})`, options);
    this.name = 'UnresolvableIntrinsicError';
  }
}

/** What `Ref` and `Fn::GetAtt` of a resource of the template give (its type's return values). */
export interface ResourceValues {
  ref?: string;
  attributes?: Record<string, string>;
}

export interface ResolveEnvironment {
  /** `AWS::AccountId`, `AWS::Partition`, `AWS::Region`, `AWS::URLSuffix`, `AWS::StackName`, … */
  pseudo: Record<string, string | string[]>;
  /** Parameter values, defaults already applied: a list for `CommaDelimitedList`. */
  parameters?: Record<string, string | string[]>;
  /** The template's `Conditions` section, evaluated on first use. */
  conditions?: Record<string, unknown>;
  resources?: Record<string, ResourceValues>;
}

/** Stands for `AWS::NoValue` until the enclosing object or list drops it. */
const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = unknown;

export function pseudoParameters(names: {
  account: string;
  region: string;
  partition?: string;
  stackName?: string;
}): Record<string, string | string[]> {
  const partition = names.partition ?? 'aws';
  return {
    'AWS::AccountId': names.account,
    'AWS::Region': names.region,
    'AWS::Partition': partition,
    'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    'AWS::StackName': names.stackName ?? 'stack',
    'AWS::StackId': `arn:${partition}:cloudformation:${names.region}:${names.account}:stack/${names.stackName ?? 'stack'}/00000000-0000-0000-0000-000000000000`,
    'AWS::NotificationARNs': [],
  };
}

/** A resolver bound to one template's environment; conditions are evaluated once each. */
export class CfnResolver {
  private readonly conditionValues = new Map<string, boolean>();
  private readonly evaluating = new Set<string>();

  constructor(private readonly env: ResolveEnvironment) {}

  /** The value with every intrinsic resolved; `AWS::NoValue` at the top is `undefined`. */
  resolve(value: unknown, at = '$'): Resolved {
    const resolved = this.value(value, at);
    return resolved === NO_VALUE ? undefined : resolved;
  }

  /** A named condition of the template (`Conditions`), true or false. */
  condition(name: string, at = `Conditions.${name}`): boolean {
    const known = this.conditionValues.get(name);
    if (known !== undefined) return known;
    const definition = this.env.conditions?.[name];
    if (definition === undefined) throw new UnresolvableIntrinsicError(`no condition ${name}`, at);
    if (this.evaluating.has(name))
      throw new UnresolvableIntrinsicError(`condition ${name} refers to itself`, at);
    this.evaluating.add(name);
    const result = this.booleanOf(definition, `Conditions.${name}`);
    this.evaluating.delete(name);
    this.conditionValues.set(name, result);
    return result;
  }

  private value(value: unknown, at: string): Resolved {
    if (Array.isArray(value)) {
      return value
        .map((item, index) => this.value(item, `${at}[${index}]`))
        .filter((item) => item !== NO_VALUE);
    }
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && isIntrinsic(first[0], first[1]))
      return this.intrinsic(first[0], first[1], at);
    const out: Record<string, Resolved> = {};
    for (const [key, item] of entries) {
      const resolved = this.value(item, `${at}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, args: unknown, at: string): Resolved {
    const here = `${at}.${name}`;
    switch (name) {
      case 'Ref':
        return this.ref(this.stringOf(args, here), here);
      case 'Fn::GetAtt':
        return this.getAtt(args, here);
      case 'Fn::Sub':
        return this.sub(args, here);
      case 'Fn::Join': {
        const [delimiter, list] = this.pair(args, here);
        return this.listOf(list, here)
          .map((item, index) => this.stringOf(item, `${here}[${index}]`))
          .join(this.stringOf(delimiter, here));
      }
      case 'Fn::Split': {
        const [delimiter, text] = this.pair(args, here);
        return this.stringOf(this.value(text, here), here).split(this.stringOf(delimiter, here));
      }
      case 'Fn::Select': {
        const [index, list] = this.pair(args, here);
        const items = this.listOf(list, here);
        const position = Number(this.value(index, here));
        if (!Number.isInteger(position) || position < 0 || position >= items.length)
          throw new UnresolvableIntrinsicError(`Fn::Select index ${String(index)} out of range`, here);
        return items[position];
      }
      case 'Fn::If': {
        if (!Array.isArray(args) || args.length !== 3)
          throw new UnresolvableIntrinsicError('Fn::If takes [condition, then, else]', here);
        const [condition, then, otherwise] = args as [unknown, unknown, unknown];
        return this.condition(this.stringOf(condition, here), here)
          ? this.value(then, `${here}[1]`)
          : this.value(otherwise, `${here}[2]`);
      }
      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not':
      case 'Condition':
        return this.booleanOf({ [name]: args }, at);
      case 'Fn::Contains': {
        const [list, item] = this.pair(args, here);
        return this.listOf(list, here).includes(this.value(item, here));
      }
      default:
        throw new UnresolvableIntrinsicError(`${name} is not supported`, here);
    }
  }

  private booleanOf(definition: unknown, at: string): boolean {
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition))
      throw new UnresolvableIntrinsicError('a condition must be a condition function', at);
    const [[name, args] = ['', undefined]] = Object.entries(definition);
    const here = `${at}.${name}`;
    const list = () => {
      if (!Array.isArray(args)) throw new UnresolvableIntrinsicError(`${name} takes a list`, here);
      return args as unknown[];
    };
    switch (name) {
      case 'Condition':
        return this.condition(this.stringOf(args, here), here);
      case 'Fn::Equals': {
        const [left, right] = this.pair(args, here);
        return JSON.stringify(this.value(left, here)) === JSON.stringify(this.value(right, here));
      }
      case 'Fn::And':
        return list().every((item, index) => this.booleanOf(item, `${here}[${index}]`));
      case 'Fn::Or':
        return list().some((item, index) => this.booleanOf(item, `${here}[${index}]`));
      case 'Fn::Not': {
        const [only] = list();
        return !this.booleanOf(only, `${here}[0]`);
      }
      default: {
        // Fn::Contains and other functions that give a boolean.
        const value = this.value(definition, at);
        if (typeof value === 'boolean') return value;
        throw new UnresolvableIntrinsicError(`${name} is not a condition function`, here);
      }
    }
  }

  private ref(name: string, at: string): Resolved {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const pseudo = this.env.pseudo[name];
    if (pseudo !== undefined) return pseudo;
    const parameter = this.env.parameters?.[name];
    if (parameter !== undefined) return parameter;
    const resource = this.env.resources?.[name];
    if (resource?.ref !== undefined) return resource.ref;
    throw new UnresolvableIntrinsicError(`no value for Ref ${name}`, at);
  }

  private getAtt(args: unknown, at: string): string {
    const [resource, attribute] =
      typeof args === 'string'
        ? [args.slice(0, args.indexOf('.')), args.slice(args.indexOf('.') + 1)]
        : this.pair(args, at).map((part) => this.stringOf(this.value(part, at), at));
    const value = this.env.resources?.[String(resource)]?.attributes?.[String(attribute)];
    if (value === undefined)
      throw new UnresolvableIntrinsicError(`no value for Fn::GetAtt ${resource}.${attribute}`, at);
    return value;
  }

  private sub(args: unknown, at: string): string {
    const [template, variables] =
      typeof args === 'string' ? [args, {}] : (this.pair(args, at) as [unknown, Record<string, unknown>]);
    const text = this.stringOf(template, at);
    const locals = Object.fromEntries(
      Object.entries(variables ?? {}).map(([name, value]) => [name, this.value(value, `${at}.${name}`)]),
    );
    return text.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in locals) return this.stringOf(locals[name], at);
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const dot = name.indexOf('.');
        return this.getAtt([name.slice(0, dot), name.slice(dot + 1)], at);
      }
      return this.stringOf(this.ref(name, at), at);
    });
  }

  private pair(args: unknown, at: string): [unknown, unknown] {
    if (!Array.isArray(args) || args.length !== 2)
      throw new UnresolvableIntrinsicError('expected a list of two arguments', at);
    return [args[0], args[1]];
  }

  private listOf(value: unknown, at: string): unknown[] {
    const resolved = this.value(value, at);
    if (!Array.isArray(resolved)) throw new UnresolvableIntrinsicError('expected a list', at);
    return resolved;
  }

  private stringOf(value: unknown, at: string): string {
    const resolved = typeof value === 'object' && value !== null ? this.value(value, at) : value;
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new UnresolvableIntrinsicError(`expected a string, got ${JSON.stringify(resolved)}`, at);
  }
}

/** `{ Condition: name }` only with a name: a policy statement's `Condition` holds an object. */
const isIntrinsic = (key: string, args: unknown): boolean =>
  key === 'Ref' || key.startsWith('Fn::') || (key === 'Condition' && typeof args === 'string');

/** Resolves one value (a policy document, a property) in an environment. */
export const resolveCfn = (value: unknown, env: ResolveEnvironment): unknown =>
  new CfnResolver(env).resolve(value);

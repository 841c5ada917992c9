// aws-local-stepfunctions calls Promise.withResolvers (Node 22). On Node 20 every Task would fail, and a
// States.ALL Catch would hide it: provide it here, before the runner loads.
type Resolvers<T> = {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

const withResolvers = <T>(): Resolvers<T> => {
  let resolve!: Resolvers<T>['resolve'];
  let reject!: Resolvers<T>['reject'];
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

const PromiseConstructor = Promise as unknown as { withResolvers?: typeof withResolvers };
PromiseConstructor.withResolvers ??= withResolvers;

// One workflow thread for all the Temporal Workers of a host. The SDK gives every Worker its own
// worker thread with its own V8 isolate, which loads the whole workflow bundle: about 25 MB and a
// few hundred ms per vertical, for workflows that only orchestrate activities. The workers of one
// toolbox version in one host run the same bundle with the same activities, so they can share
// the thread the first of them creates: workflows are kept apart by run id inside it, and each
// still runs in the SDK's sandbox with its deadlock detection.
//
// The SDK has no option for this; Worker.createWorkflowCreator is the static step of
// Worker.create that makes the thread. It is replaced only while `create` runs, and where a
// later SDK no longer has it every Worker keeps its own thread (correct, only larger). The same
// goes for Worker.getOrCreateBundle, which compiles and runs the bundle once in the main thread
// (for debuggers) and patches its source map: once for all the Workers instead of once each.
import { Worker } from '@temporalio/worker';

interface WorkflowCreator {
  createWorkflow(options: unknown): Promise<unknown>;
  destroy(): Promise<void>;
}

type CreatorFactory = (this: unknown, ...args: unknown[]) => Promise<WorkflowCreator>;
type BundleFactory = (this: unknown, ...args: unknown[]) => Promise<unknown>;

export class SharedWorkflowThread {
  private creator?: Promise<WorkflowCreator>;
  private bundle?: Promise<unknown>;
  private destroyed = false;

  /** Whether this SDK lets Workers share the thread (else `create` makes them as usual). */
  static supported(): boolean {
    return typeof (Worker as unknown as { createWorkflowCreator?: unknown }).createWorkflowCreator === 'function';
  }

  /**
   * Run `create` (which calls Worker.create, once or more) so that every Worker it makes with a
   * workflow bundle shares this one thread. The first Worker's options make the thread: every
   * Worker created here must have the same bundle and activities.
   */
  async create<T>(create: () => Promise<T>): Promise<T> {
    if (this.destroyed) {
      throw new Error('the shared workflow thread was already destroyed');
    }
    const cls = Worker as unknown as { createWorkflowCreator?: CreatorFactory; getOrCreateBundle?: BundleFactory };
    const original = cls.createWorkflowCreator;
    if (typeof original !== 'function') {
      return create();
    }
    const originalBundle = cls.getOrCreateBundle;
    if (typeof originalBundle === 'function') {
      cls.getOrCreateBundle = (...args: unknown[]) => (this.bundle ??= originalBundle.apply(cls, args));
    }
    cls.createWorkflowCreator = (...args: unknown[]) => {
      const real = (this.creator ??= original.apply(cls, args));
      // A Worker destroys its creator when it stops: this one is destroyed with the generation.
      return real.then((creator) => ({
        createWorkflow: (options: unknown) => creator.createWorkflow(options),
        destroy: () => Promise.resolve(),
      }));
    };
    try {
      return await create();
    } finally {
      cls.createWorkflowCreator = original;
      if (typeof originalBundle === 'function') {
        cls.getOrCreateBundle = originalBundle;
      }
      // The thread has its copy; the Workers keep none.
      this.bundle = undefined;
    }
  }

  /** End the thread, once every Worker that shares it has stopped. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const creator = await this.creator?.catch(() => undefined);
    this.creator = undefined;
    await creator?.destroy();
  }
}

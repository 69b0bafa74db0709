/**
 * Every plugin instance (model, reducer, parser, metric, judge) is described by a spec from which it can be
 * rebuilt: the stored run holds these, never live objects.
 */
export interface PluginSpec<Args = Record<string, unknown>> {
  readonly id: string;
  readonly version: string;
  readonly args: Args;
}

import { Schedule } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alias, type IFunction, type IVersion, Version } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { PathCapacity } from '../config/capacity';

export interface ProvisionedForDropsProps {
  /** The function; its alias follows the version each deploy publishes (`currentVersion`) unless pinned. */
  readonly fn: IFunction & { readonly currentVersion: Version };
  /**
   * A published version number the alias stays on whatever this deploy publishes: its provisioned
   * environments stay allocated (docs/deploy.md, "Deploying during a drop window").
   */
  readonly pinnedVersion?: string | undefined;
  /** This path's share of the drop plan: floors, ceiling and target. */
  readonly capacity: PathCapacity;
}

/**
 * A drop path's alias (reservation or checkout) with provisioned concurrency
 * managed by Application Auto Scaling: the drop plan's floor is raised before
 * each drop and lowered after it (scheduled actions), and target tracking adds
 * environments when demand runs past the plan. A window already open at deploy
 * is the scalable target's own minimum, applied when the deploy registers it:
 * a scheduled action is never given a time that has passed.
 */
export class ProvisionedForDrops extends Construct {
  readonly alias: Alias;

  constructor(scope: Construct, id: string, props: ProvisionedForDropsProps) {
    super(scope, id);
    const { schedule, minAtDeploy, maxProvisioned, utilizationTarget } = props.capacity;
    // The deploy publishes the function's new version either way (and retains it), so the next deploy
    // without the pin can move the alias to it; a pin only keeps the alias where it is.
    const published = props.fn.currentVersion;
    const version: IVersion = props.pinnedVersion
      ? Version.fromVersionAttributes(this, 'Pinned', { lambda: props.fn, version: props.pinnedVersion })
      : published;
    this.alias = new Alias(this, 'Live', { aliasName: 'live', version });
    const scaling = this.alias.addAutoScaling({ minCapacity: minAtDeploy, maxCapacity: maxProvisioned });
    scaling.scaleOnUtilization({ utilizationTarget });
    schedule.forEach((step, index) => {
      scaling.scaleOnSchedule(`Step${index}`, {
        schedule: Schedule.at(step.at),
        minCapacity: step.minProvisioned,
      });
    });
  }
}

import { Schedule } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alias, type Version } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { Capacity } from '../config/capacity';

export interface ProvisionedForDropsProps {
  readonly version: Version;
  readonly capacity: Capacity;
}

/**
 * The hot path's alias with provisioned concurrency managed by Application
 * Auto Scaling: the drop plan's floor is raised before each drop and lowered
 * after it (scheduled actions), and target tracking adds environments when
 * demand runs past the plan.
 */
export class ProvisionedForDrops extends Construct {
  readonly alias: Alias;

  constructor(scope: Construct, id: string, props: ProvisionedForDropsProps) {
    super(scope, id);
    const { reservation, schedule } = props.capacity;
    this.alias = new Alias(this, 'Live', { aliasName: 'live', version: props.version });
    const scaling = this.alias.addAutoScaling({
      minCapacity: reservation.baselineProvisioned,
      maxCapacity: reservation.maxProvisioned,
    });
    scaling.scaleOnUtilization({ utilizationTarget: reservation.utilizationTarget });
    schedule.forEach((step, index) => {
      scaling.scaleOnSchedule(`Step${index}`, {
        schedule: Schedule.at(step.at),
        minCapacity: step.minProvisioned,
      });
    });
  }
}

/**
 * An alarm as every dropline stack raises it: named for its stage (so a
 * staging rehearsal never pages production), and telling its action both when
 * it fires and when it clears, so every alarm has an action.
 */
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { stageOf } from './dropline-function';

export interface StageAlarmProps {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly description: string;
  /** Where the alarm and its recovery are sent. */
  readonly action: IAlarmAction;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default ComparisonOperator.GREATER_THAN_THRESHOLD */
  readonly comparisonOperator?: ComparisonOperator;
  /**
   * Most metrics dropline alarms on are published only when something happens (throttles, errors, DLQ
   * messages), so silence is health unless said otherwise.
   * @default TreatMissingData.NOT_BREACHING
   */
  readonly treatMissingData?: TreatMissingData;
}

export class StageAlarm extends Alarm {
  constructor(scope: Construct, id: string, props: StageAlarmProps) {
    super(scope, id, {
      alarmName: `${stageOf(scope)}-${id}`,
      alarmDescription: props.description,
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator: props.comparisonOperator ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: props.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    this.addAlarmAction(props.action);
    this.addOkAction(props.action);
  }
}

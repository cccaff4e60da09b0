import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { InstantColumn, JsonColumn } from '../database/columns';

export type StageKind = 'user_logout' | 'provider_logout' | 'confirm' | 'redirect' | 'message';

/** An ordered list of stages that runs when a session ends (an invalidation flow). */
@Entity('flows')
export class Flow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  slug: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @InstantColumn()
  createdAt: Date;
}

/** One step a flow can take; reusable across flows. `config` depends on the kind (see libs/flows). */
@Entity('stages')
export class Stage {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  name: string;

  @Column({ type: 'varchar', length: 24 })
  kind: StageKind;

  @JsonColumn()
  config: Record<string, unknown>;

  @InstantColumn()
  createdAt: Date;
}

@Entity('flow_stage_bindings')
@Index(['flowId', 'order'], { unique: true })
export class FlowStageBinding {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 36 })
  flowId: string;

  @ManyToOne(() => Flow, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'flow_id' })
  flow: Relation<Flow>;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  stageId: string;

  @ManyToOne(() => Stage, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'stage_id' })
  stage: Relation<Stage>;

  @Column({ type: 'integer' })
  order: number;
}

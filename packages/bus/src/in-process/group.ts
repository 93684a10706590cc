import { SerialQueue, byPartition } from '../util.js';
import type { TopicPartition } from '../ports.js';
import type { InProcessBroker } from './broker.js';

/** What the coordinator needs from a member. */
export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Stops starting batches, makes the batch in flight stale, and resolves once it has returned. */
  quiesce(): Promise<void>;
  /** The member's partitions for the new generation. */
  assign(partitions: readonly TopicPartition[]): void;
}

/**
 * One consumer group: membership, eager rebalancing and committed offsets.
 * Like Kafka's classic protocol, a rebalance waits for every member to finish its batch in flight
 * before anyone receives the new assignment, so two members never process one partition at once.
 */
export class InProcessGroup {
  readonly committed = new Map<string, string>();
  private members: GroupMember[] = [];
  private readonly queue = new SerialQueue();
  private nextMember = 0;

  constructor(
    readonly groupId: string,
    private readonly broker: InProcessBroker,
  ) {}

  newMemberId(): string {
    return `${this.groupId}-${this.nextMember++}`;
  }

  join(member: GroupMember): Promise<void> {
    return this.queue.run(async () => {
      this.members.push(member);
      await this.rebalance();
    });
  }

  leave(member: GroupMember): Promise<void> {
    return this.queue.run(async () => {
      const before = this.members.length;
      this.members = this.members.filter((m) => m !== member);
      if (this.members.length !== before) await this.rebalance();
    });
  }

  isMember(member: GroupMember): boolean {
    return this.members.includes(member);
  }

  private async rebalance(): Promise<void> {
    await Promise.all(this.members.map((m) => m.quiesce()));
    const assignment = roundRobin(this.members, this.broker);
    for (const member of this.members) member.assign(assignment.get(member) ?? []);
  }
}

/**
 * kafkajs's RoundRobinAssigner: members sorted by id, every subscribed topic-partition sorted,
 * dealt out in turn (here among the members subscribed to that topic).
 */
function roundRobin(members: readonly GroupMember[], broker: InProcessBroker): Map<GroupMember, TopicPartition[]> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].filter((t) => broker.hasTopic(t));
  const partitions = topics
    .flatMap((topic) => Array.from({ length: broker.partitionCount(topic) }, (_, partition) => ({ topic, partition })))
    .sort(byPartition);
  const result = new Map<GroupMember, TopicPartition[]>(sorted.map((m) => [m, []]));
  let turn = 0;
  for (const tp of partitions) {
    const candidates = sorted.filter((m) => m.topics.includes(tp.topic));
    if (candidates.length > 0) result.get(candidates[turn++ % candidates.length]!)!.push(tp);
  }
  return result;
}

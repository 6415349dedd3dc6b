/**
 * Prometheus metrics of one process (prom-client). Each application instance owns its registry,
 * so several instances in one process (tests) never collide.
 */
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const QUEUE_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'failed',
  'completed',
] as const;
export type QueueState = (typeof QUEUE_STATES)[number];
/** Counts jobs per state of one queue; supplied by the order module. */
export type QueueCounter = () => Promise<Record<string, Partial<Record<QueueState, number>>>>;

@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly ordersAccepted = new Counter({
    name: 'orders_accepted_total',
    help: 'Orders accepted (202) by the API, by VIP flag',
    labelNames: ['vip'] as const,
    registers: [this.registry],
  });

  readonly ordersConfirmed = new Counter({
    name: 'orders_confirmed_total',
    help: 'Orders decided CONFIRMED, by VIP flag',
    labelNames: ['vip'] as const,
    registers: [this.registry],
  });

  readonly ordersFailed = new Counter({
    name: 'orders_failed_total',
    help: 'Orders decided FAILED, by reason and VIP flag',
    labelNames: ['reason', 'vip'] as const,
    registers: [this.registry],
  });

  readonly processingDuration = new Histogram({
    name: 'order_processing_duration_seconds',
    help: 'Time a worker spends on one order job attempt, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'group_commit_batch_size',
    help: 'Orders per group commit: stored together by the API (acceptance), reserved together by a worker (reservation)',
    labelNames: ['stage'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  readonly versionConflicts = new Counter({
    name: 'stock_version_conflicts_total',
    help: 'Optimistic-locking conflicts: a stock write found a product changed since it was read (re-read and retried at once)',
    registers: [this.registry],
  });

  readonly liveEventsPublished = new Counter({
    name: 'live_events_published_total',
    help: 'Live order events appended to the event stream, or lost because Redis did not take them',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly liveEventsDelivered = new Counter({
    name: 'live_events_delivered_total',
    help: 'Live events this API replica handed to its sockets, by event name',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly liveSockets = new Gauge({
    name: 'live_event_sockets',
    help: 'Sockets connected to this API replica, by audience',
    labelNames: ['audience'] as const,
    registers: [this.registry],
  });

  private queueCounter?: QueueCounter;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      collect: async () => {
        if (!this.queueCounter) return;
        queueJobs.reset();
        for (const [queue, counts] of Object.entries(await this.queueCounter())) {
          for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, counts[state] ?? 0);
        }
      },
    });
  }

  countQueuesWith(counter: QueueCounter): void {
    this.queueCounter = counter;
  }

  orderAccepted(vip: boolean): void {
    this.ordersAccepted.inc({ vip: String(vip) });
  }

  /** `failureReason` null: confirmed; otherwise the order domain's reason, as the label. */
  orderDecided(vip: boolean, failureReason: string | null): void {
    if (failureReason === null) this.ordersConfirmed.inc({ vip: String(vip) });
    else this.ordersFailed.inc({ reason: failureReason, vip: String(vip) });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

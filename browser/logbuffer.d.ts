/* tslint:disable */
/* eslint-disable */

/** Bytes as the buffer takes them: text (stored as UTF-8) or binary. */
export type Bytes = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** A topic as declared in `open`: its partition count and Kafka topic configs. */
export interface TopicOptions {
    partitions?: number;
    "cleanup.policy"?: "delete" | "compact" | "compact,delete";
    "retention.ms"?: number;
    "retention.bytes"?: number;
    "segment.bytes"?: number;
    "segment.ms"?: number;
    "segment.index.bytes"?: number;
    "index.interval.bytes"?: number;
    "delete.retention.ms"?: number;
    "min.compaction.lag.ms"?: number;
    "message.timestamp.type"?: "CreateTime" | "LogAppendTime";
}

export interface LogBufferOptions {
    /** Topics to create or update (configs replaced; partitions may only grow). */
    topics?: Record<string, TopicOptions>;
    /** "indexeddb" (default) or "memory" (Node, tests: nothing survives the process). */
    storage?: "indexeddb" | "memory";
    /** IndexedDB transaction durability of each flush; default "relaxed". */
    durability?: "relaxed" | "strict";
    /** "append": every append resolves once durable; or flush every N ms and/or N bytes.
     * Default { intervalMs: 1000, bytes: 1048576 }. */
    flush?: "append" | { intervalMs?: number; bytes?: number };
    /** Another writer holds the buffer: "fail" (default) rejects with LOCK_HELD, "wait" waits. */
    lock?: "fail" | "wait";
    /** Open without the writer lock: reads only, `refresh()` sees the writer's flushed data. */
    readOnly?: boolean;
    /** How often flushes also run retention and compaction; default 300000 (Kafka's
     * log.retention.check.interval.ms). */
    retentionCheckIntervalMs?: number;
}

export interface AppendRecordInput {
    key?: Bytes | null;
    /** null is a tombstone (deletes the key on a compacted topic). */
    value?: Bytes | null;
    headers?: Record<string, Bytes | null> | Array<[string, Bytes | null]>;
    /** CreateTime in ms since the epoch (number or Date); default now. */
    timestamp?: number | Date;
    /** Explicit partition; otherwise murmur2 of the key, or one sticky partition per append. */
    partition?: number;
}

export interface AppendOptions {
    /** Idempotent append: a retry with the same producer id, epoch and sequence is not
     * written twice. All records must go to one partition. Without `sequence` the buffer takes
     * the next one, which is not retry-safe: a retry must pass its first attempt's sequence. */
    producer?: { producerId: number; producerEpoch?: number; sequence?: number };
}

export interface PartitionAppend {
    partition: number;
    baseOffset: number;
    lastOffset: number;
    recordCount: number;
    batches: number;
    /** A retry of batches already in the log: nothing written, the original offsets. */
    duplicate: boolean;
    baseSequence: number | null;
}

export interface AppendResult {
    partitions: PartitionAppend[];
    /** Each record's partition and offset, in the order given. */
    records: Array<{ partition: number; offset: number }>;
    /** Whether the records are already durable (flush policy "append"). */
    durable: boolean;
}

export interface ReadOptions {
    maxRecords?: number;
    maxBytes?: number;
    /** "text" decodes keys and values as UTF-8 strings; default bytes. */
    decode?: "bytes" | "text";
}

export interface BufferRecord {
    offset: number;
    timestamp: number;
    key: Uint8Array | string | null;
    value: Uint8Array | string | null;
    headers: Array<{ key: string; value: Uint8Array | string | null }>;
}

export interface ReadResult {
    records: BufferRecord[];
    nextOffset: number;
    logStartOffset: number;
    highWatermark: number;
}

export interface FollowOptions {
    maxRecords?: number;
    pollMs?: number;
    decode?: "bytes" | "text";
}

export interface CommittedOffset { offset: number; metadata: string; commitTimestamp: number }

export interface PartitionLag {
    topic: string;
    partition: number;
    currentOffset: number | null;
    logStartOffset: number;
    logEndOffset: number;
    lag: number;
}

export interface PartitionStats {
    topic: string;
    partition: number;
    logStartOffset: number;
    logEndOffset: number;
    sizeBytes: number;
    segments: number;
    producers: number;
    /** The log end offset as of the last flush that succeeded: offsets below it survive a crash. */
    durableEndOffset: number;
}

export interface BufferStats {
    partitions: PartitionStats[];
    consumerOffsetsBytes: number;
    consumerGroups: number;
    totalBytes: number;
    records: number;
    /** Bytes appended but not yet durable. */
    unflushedBytes: number;
    flushes: number;
    /** navigator.storage.estimate(), where the platform has it. */
    storageEstimate?: { usage: number; quota: number };
}

export interface RecoveryNote {
    topic: string;
    partition: number;
    tornTailBytes: number;
    discardedBytes: number;
    logEndOffset: number;
    notes: string[];
}

export interface RetentionReport { deletedSegments: number; deletedBytes: number; compactedPartitions: number }

export interface DrainTargetContext { topic: string; partition: number; idempotencyKeys: string[] }

export interface DrainOptions {
    consumer: string;
    topic: string;
    /** The REST proxy's base URL (Kafka REST Proxy v3). */
    url?: string;
    clusterId?: string;
    headers?: Record<string, string>;
    preservePartition?: boolean;
    /** Any other endpoint: resolve when the records are taken; throw an error with
     * `retriable: false` to stop, `written: n` if the first n were taken. */
    target?: (records: BufferRecord[], context: DrainTargetContext) => Promise<unknown>;
    maxRecords?: number;
    maxAttempts?: number;
    backoffMs?: number;
    maxBackoffMs?: number;
}

export interface DrainResult {
    shipped: number;
    batches: number;
    retries: number;
    partitions: Array<{ partition: number; from: number; to: number }>;
}



/**
 * A durable local log: topics of partitions with offsets, consumers and retention, Kafka's
 * semantics, in IndexedDB. See the README's "Edge buffer" section.
 */
export class LogBuffer {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Appends records to `topic`; resolves with each record's partition and offset (and
     * after they are durable with flush policy "append").
     */
    append(topic: any, records: AppendRecordInput[], options: AppendOptions): Promise<AppendResult>;
    /**
     * Flushes, releases the writer lock and closes the database.
     */
    close(): Promise<void>;
    /**
     * Stores a named consumer's position: the next offset it will read (OffsetCommit).
     * Durable with the next flush.
     */
    commitOffset(consumer: any, topic: any, partition: any, offset: any, options: { metadata?: string }): Promise<void>;
    /**
     * A named consumer's stored position, or null.
     */
    committed(consumer: any, topic: any, partition: any): Promise<CommittedOffset | null>;
    /**
     * Deletes a buffer's IndexedDB database (close it first).
     */
    static deleteBuffer(name: string): Promise<void>;
    /**
     * Ships a topic from a consumer's position to Kafka (REST Proxy v3) or another target,
     * at least once; the consumer's offset is stored only after each batch was taken.
     */
    drain(options: DrainOptions): Promise<DrainResult>;
    /**
     * Runs retention and compaction now (flushes also run them every
     * `retentionCheckIntervalMs`); durable with the next flush.
     */
    enforceRetention(): Promise<RetentionReport>;
    /**
     * Resolves when everything appended before it is durable, with the bytes it wrote.
     */
    flush(): Promise<number>;
    /**
     * An async iterator over the records from `offset` on that waits at the log end.
     */
    follow(topic: any, partition: any, offset: any, options: FollowOptions): AsyncIterableIterator<BufferRecord>;
    /**
     * A producer id for idempotent appends; a name gives the same id every time.
     */
    initProducerId(name: any): Promise<{ producerId: number; producerEpoch: number }>;
    /**
     * The consumer's lag per partition (of `topic`, or of all topics).
     */
    lag(consumer: any, topic: any): Promise<PartitionLag[]>;
    /**
     * ListOffsets by time: the first record at or after `timestamp` (ms, or a Date; -2
     * earliest, -1 latest), or null.
     */
    offsetForTimestamp(topic: any, partition: any, timestamp: number | Date): Promise<{ offset: number; timestamp: number } | null>;
    /**
     * Opens (creating if needed) the buffer `name`: recovers its logs from IndexedDB (a torn
     * tail is cut by CRC, see `recovery`), declares `options.topics`, and takes the writer
     * lock unless `readOnly`.
     */
    static open(name: string, options: LogBufferOptions): Promise<LogBuffer>;
    /**
     * An idempotent producer's state in a partition, or null if the partition has none.
     */
    producerState(producer_id: any, topic: any, partition: any): { producerEpoch: number; lastSequence: number; lastOffset: number } | null;
    /**
     * Records of `topic`-`partition` from `offset` on.
     */
    read(topic: any, partition: any, offset: any, options: ReadOptions): Promise<ReadResult>;
    /**
     * Reads the writer's flushed data again (a read-only buffer).
     */
    refresh(): Promise<void>;
    /**
     * Changes topic configs (`null` removes an override); `enforceRetention` applies them.
     */
    setTopicConfig(topic: any, configs: TopicOptions): Promise<void>;
    /**
     * Sizes, offsets, unflushed bytes and the platform's storage estimate.
     */
    stats(): Promise<BufferStats>;
    /**
     * The topics: name → { partitions, configs }.
     */
    topics(): Record<string, { partitions: number; configs: Record<string, string> }>;
    /**
     * Resolves at the next append (or close).
     */
    waitForAppend(): Promise<any>;
    readonly closed: boolean;
    readonly name: string;
    readonly readOnly: boolean;
    /**
     * What recovery cut at open, per partition that had files.
     */
    readonly recovery: RecoveryNote[];
}

/**
 * Sets the panic hook: a panic (a bug) reaches the console with its message.
 */
export function start(): void;


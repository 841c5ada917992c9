import { notFound } from './errors.ts';

export type SnapshotState = 'pending' | 'completed' | 'error';
export type ImageState = 'pending' | 'available' | 'failed';

/** What makes a snapshot a copy, and when its bytes are across (virtual clock, ms). */
export interface SnapshotCopy {
  sourceRegion: string;
  sourceSnapshotId: string;
  /** A copy's own `volumeId` is an arbitrary `vol-ffffffff`, as EC2 documents. */
  sourceVolumeId: string;
  endsAt: number;
  /**
   * The copy goes to `error` at this time instead of completing (a key that does not exist, a fault);
   * `code` is the state reason an image copy it backs fails with.
   */
  failure?: { at: number; message: string; code: string };
  /** A backing snapshot of this image copy: EC2 reports the image, not the snapshot. */
  imageId?: string;
  /** A completed copy of an older snapshot of the same volume exists here (the event's `Incremental`). */
  incremental: boolean;
}

export interface SnapshotRecord {
  snapshotId: string;
  region: string;
  ownerId: string;
  volumeId: string;
  volumeSizeGiB: number;
  description: string;
  state: SnapshotState;
  stateMessage?: string;
  /** 0–100. */
  progress: number;
  startTime: number;
  completionTime?: number;
  encrypted: boolean;
  kmsKeyId?: string;
  storageTier: 'standard' | 'archive';
  tieringStartTime?: number;
  completionDurationMinutes?: number;
  tags: Map<string, string>;
  /** Account ids (or `all`) that may create volumes from it. */
  createVolumePermissions: Set<string>;
  copy?: SnapshotCopy;
  /** LockSnapshot's settings (snapshot-locks.ts); its state follows from them and the clock. */
  lock?: SnapshotLock;
}

/** A snapshot lock as LockSnapshot set it (virtual clock, ms). */
export interface SnapshotLock {
  mode: 'governance' | 'compliance';
  createdOn: number;
  /** LockDuration in days, when the lock was given one (else it was given an ExpirationDate). */
  durationDays?: number;
  /** ExpirationDate, when the lock was given one. */
  expirationDate?: number;
  /** Compliance mode's cooling-off period, in hours, and when it started (on entering compliance mode). */
  coolOffHours?: number;
  coolOffStart?: number;
}

export interface BlockDevice {
  deviceName: string;
  snapshotId: string;
  volumeSizeGiB: number;
  volumeType: string;
  deleteOnTermination: boolean;
  encrypted: boolean;
}

export interface ImageRecord {
  imageId: string;
  region: string;
  ownerId: string;
  name: string;
  description?: string;
  state: ImageState;
  stateReason?: { code: string; message: string };
  creationDate: number;
  architecture: string;
  rootDeviceName: string;
  virtualizationType: string;
  enaSupport: boolean;
  blockDevices: BlockDevice[];
  tags: Map<string, string>;
  /** The API request that made it: AMI events carry it. */
  requestId: string;
  sourceInstanceId?: string;
  /** Account ids (or `all`) that may launch it (ModifyImageAttribute); none until shared. */
  launchPermissions?: Set<string>;
  copy?: { sourceRegion: string; sourceImageId: string };
  /** RegisterImage: when the registration completes and the image becomes available (virtual clock, ms). */
  registeredAt?: number;
  /** EnableImageDeregistrationProtection's setting (image-protection.ts); none until enabled. */
  deregistrationProtection?: DeregistrationProtection;
  /** EnableImageDeprecation's DeprecateAt, rounded to the minute (virtual clock, ms). */
  deprecationTime?: number;
}

/**
 * Deregistration protection: enabled (with or without its 24-hour cooldown), or disabled with the cooldown
 * still running until `until`.
 */
export type DeregistrationProtection =
  | { enabled: true; withCooldown: boolean }
  | { enabled: false; until: number };

export interface VolumeRecord {
  volumeId: string;
  region: string;
  sizeGiB: number;
  availabilityZone: string;
  encrypted: boolean;
  kmsKeyId?: string;
  createTime: number;
  tags: Map<string, string>;
}

export interface InstanceRecord {
  instanceId: string;
  region: string;
  /** Root device first. */
  devices: { deviceName: string; volumeId: string }[];
}

/** One Region's resources. Lookups throw the EC2 error for an id that is not there. */
export class RegionStore {
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly images = new Map<string, ImageRecord>();
  readonly volumes = new Map<string, VolumeRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  /** CopyImage client tokens: the image each made, and the request it was made with. */
  readonly imageTokens = new Map<string, { imageId: string; fingerprint: string }>();

  constructor(readonly name: string) {}

  snapshot(id: string): SnapshotRecord {
    return this.find(this.snapshots, id);
  }

  image(id: string): ImageRecord {
    return this.find(this.images, id);
  }

  volume(id: string): VolumeRecord {
    return this.find(this.volumes, id);
  }

  instance(id: string): InstanceRecord {
    return this.find(this.instances, id);
  }

  /** The registered image whose block devices use the snapshot, if any. */
  imageUsing(snapshotId: string): ImageRecord | undefined {
    return [...this.images.values()].find((image) =>
      image.blockDevices.some((device) => device.snapshotId === snapshotId),
    );
  }

  /** Snapshot copies started by CopySnapshot and still running (image copies have a limit of their own). */
  get runningSnapshotCopies(): number {
    return [...this.snapshots.values()].filter((s) => s.state === 'pending' && s.copy && !s.copy.imageId)
      .length;
  }

  get runningImageCopies(): number {
    return [...this.images.values()].filter((image) => image.state === 'pending' && image.copy).length;
  }

  private find<T>(map: Map<string, T>, id: string): T {
    const found = map.get(id);
    if (!found) throw notFound(id);
    return found;
  }
}

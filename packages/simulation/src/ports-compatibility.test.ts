// Type test (checked by `tsc` in typecheck, and run by vitest): the simulator's clock, timers,
// random, file system and network satisfy the ports the pattern packages declare, so a node built
// from NodePorts can hand them straight to @x/wal, @x/heartbeat, @x/generation-clock, @x/clocks and
// the code that uses @x/transport-tcp.
import type { WallClock as ClocksWallClock } from '@x/clocks';
import type {
  FileSystem as GenerationClockFileSystem,
  FileHandle as GenerationClockFileHandle,
} from '@x/generation-clock';
import type {
  Clock as HeartbeatClock,
  Logger as HeartbeatLogger,
  Timers as HeartbeatTimers,
} from '@x/heartbeat';
import type {
  Clock as TcpClock,
  Logger as TcpLogger,
  Random as TcpRandom,
  Timers as TcpTimers,
  TcpTransport,
} from '@x/transport-tcp';
import type {
  Clock as WalClock,
  FileHandle as WalFileHandle,
  FileSystem as WalFileSystem,
  Logger as WalLogger,
  Timers as WalTimers,
  WallClock as WalWallClock,
} from '@x/wal';
import { describe, expectTypeOf, it } from 'vitest';
import type { FileHandle, Transport } from './ports.js';
import type { ProcessFileSystem } from './process-file-system.js';
import type { ProcessLogger } from './process-logger.js';
import type { SeededRandom } from './seeded-random.js';
import type { SimulatedClock, SimulatedWallClock } from './simulated-clock.js';
import type { SimulatedEndpoint } from './simulated-network.js';
import type { NodePorts } from './simulated-node.js';
import type { SimulatedTimers } from './simulated-timers.js';

describe('port compatibility (types)', () => {
  it('satisfies the ports of @x/wal', () => {
    expectTypeOf<SimulatedClock>().toExtend<WalClock>();
    expectTypeOf<SimulatedWallClock>().toExtend<WalWallClock>();
    expectTypeOf<SimulatedTimers>().toExtend<WalTimers>();
    expectTypeOf<ProcessLogger>().toExtend<WalLogger>();
    expectTypeOf<ProcessFileSystem>().toExtend<WalFileSystem>();
    expectTypeOf<FileHandle>().toExtend<WalFileHandle>();
    expectTypeOf<NodePorts['fs']>().toExtend<WalFileSystem>();
  });

  it('satisfies the ports of @x/heartbeat', () => {
    expectTypeOf<SimulatedClock>().toExtend<HeartbeatClock>();
    expectTypeOf<SimulatedTimers>().toExtend<HeartbeatTimers>();
    expectTypeOf<NodePorts['logger']>().toExtend<HeartbeatLogger>();
  });

  it('satisfies the ports of @x/generation-clock', () => {
    expectTypeOf<ProcessFileSystem>().toExtend<GenerationClockFileSystem>();
    expectTypeOf<NodePorts['fs']>().toExtend<GenerationClockFileSystem>();
    expectTypeOf<FileHandle>().toExtend<GenerationClockFileHandle>();
  });

  it('satisfies the ports of @x/clocks', () => {
    expectTypeOf<SimulatedWallClock>().toExtend<ClocksWallClock>();
  });

  it('satisfies the ports of @x/transport-tcp, and both transports share the Transport shape', () => {
    expectTypeOf<SimulatedClock>().toExtend<TcpClock>();
    expectTypeOf<SimulatedTimers>().toExtend<TcpTimers>();
    expectTypeOf<SeededRandom>().toExtend<TcpRandom>();
    expectTypeOf<ProcessLogger>().toExtend<TcpLogger>();
    expectTypeOf<SimulatedEndpoint>().toExtend<Transport>();
    expectTypeOf<NodePorts['transport']>().toExtend<Transport>();
    expectTypeOf<TcpTransport>().toExtend<Transport>();
  });
});

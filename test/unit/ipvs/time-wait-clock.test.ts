import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { clockKey } from '../../../server/src/ipvs/connection-order.js';
import { parseTimeWaitClock, TIME_WAIT_LINES } from '../../../server/src/ipvs/time-wait-clock.js';

/**
 * Lines of /proc/net/tcp copied from the intro lab's host on the VM's kernel (6.1, x86-64): a
 * listening socket and curl's closed connections from 10.200.0.2 to the virtual services on
 * 10.200.0.2:8003 and :8004, in TIME_WAIT. The line of a closing socket in FIN_WAIT2 (05) is
 * made from the same shape.
 */
const PROC_NET_TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     ',
  '   0: 0B00007F:9F85 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20784 1 000000005b2aabb2 100 0 0 10 0                     ',
  '   1: 0200C80A:D626 0200C80A:1F44 06 00000000:00000000 03:0000097D 00000000     0        0 0 3 0000000037886276                                      ',
  '   2: 0200C80A:D5D6 0200C80A:1F44 06 00000000:00000000 03:00000868 00000000     0        0 0 3 0000000041d45544                                      ',
  '   3: 0200C80A:E850 0200C80A:1F43 06 00000000:00000000 03:000001CA 00000000     0        0 0 3 0000000068570429                                      ',
  '   4: 0200C80A:E852 0200C80A:1F43 05 00000000:00000000 03:000001CA 00000000     0        0 0 3 0000000068570430                                      ',
].join('\n');

describe('parseTimeWaitClock', () => {
  const clock = parseTimeWaitClock(PROC_NET_TCP);
  const at = (clientPort: number, virtualPort: number) =>
    clock.get(clockKey({ address: '10.200.0.2', port: clientPort }, { address: '10.200.0.2', port: virtualPort }));

  it("reads each closed client socket's time left in hundredths of a second, by client and virtual address", () => {
    assert.equal(at(0xd626, 8004), 0x97d);
    assert.equal(at(0xd5d6, 8004), 0x868);
    assert.equal(at(0xe850, 8003), 0x1ca);
  });

  it('leaves out sockets that are not in TIME_WAIT, the header and anything else', () => {
    assert.equal(at(0xe852, 8003), undefined, 'FIN_WAIT2');
    assert.equal(at(0x9f85, 0), undefined, 'listening');
    // Each socket goes in under both byte orders (see the parser); three sockets, six keys.
    assert.equal(clock.size, 6);
    assert.equal(parseTimeWaitClock('garbage\n\n   7: nonsense').size, 0);
  });

  it('is the grep the reading runs: it keeps exactly the TIME_WAIT lines', () => {
    const grep = new RegExp(TIME_WAIT_LINES);
    assert.deepEqual(
      PROC_NET_TCP.split('\n').map((line) => grep.test(line)),
      [false, false, true, true, true, false],
    );
  });
});

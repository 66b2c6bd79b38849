import { describe, expect, it } from 'vitest';
import { candidateSockets, detectContainerRuntime } from '../../infra/docker.ts';

describe('detectContainerRuntime', () => {
  it('looks at the usual socket places', () => {
    const sockets = candidateSockets({ HOME: '/home/x', XDG_RUNTIME_DIR: '/run/user/1000' });
    expect(sockets).toEqual(expect.arrayContaining(['/var/run/docker.sock', '/home/x/.docker/run/docker.sock', '/run/user/1000/docker.sock']));
  });

  it('with no DOCKER_HOST and no socket it says so without loading testcontainers', async () => {
    const check = await detectContainerRuntime({ env: { HOME: '/nonexistent-home' } });
    // On a machine with a Docker socket this legitimately finds it; here there is none.
    if (check.reachable) return;
    expect(check.reason).toMatch(/no Docker engine found: DOCKER_HOST is not set and there is no socket at \/var\/run\/docker\.sock/);
  });

  it('a DOCKER_HOST that nothing answers on is unreachable, with a reason', async () => {
    const check = await detectContainerRuntime({ env: { DOCKER_HOST: 'tcp://127.0.0.1:1' }, timeoutMs: 10_000 });
    expect(check.reachable).toBe(false);
    if (!check.reachable) expect(check.reason).toMatch(/no Docker engine answered at DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1|testcontainers could not be loaded on Node/);
  });
});

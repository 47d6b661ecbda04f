// The upstream policy (seed 003): which addresses a business API may live at, in every spelling.
import { describe, expect, it } from 'vitest';
import { refusedUpstreamUrls } from '../../packages/server/src/testing/refused-upstream-urls.js';
import {
  classifyAddress,
  compileAllowList,
  createUpstreamPolicy,
} from '../../packages/server/src/replay/upstream-address.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'private', 'loopback'],
    ['::1', 'private', 'loopback'],
    ['10.1.2.3', 'private', 'private'],
    ['fd00::1', 'private', 'uniqueLocal'],
    ['100.64.1.1', 'private', 'carrierGradeNat'],
    ['192.0.2.1', 'private', 'reserved'],
    ['::ffff:192.168.1.1', 'private', 'private'],
    ['64:ff9b::7f00:1', 'private', 'loopback'],
    ['2002:a00:1::', 'private', 'private'],
    ['169.254.169.254', 'never', 'linkLocal'],
    ['fe80::1%eth0', 'never', 'linkLocal'],
    ['::ffff:0.0.0.0', 'never', 'unspecified'],
    ['224.0.0.251', 'never', 'multicast'],
    ['100.100.100.200', 'never', 'metadata'],
    ['fd00:ec2::254', 'never', 'metadata'],
    ['8.8.8.8', 'public', 'unicast'],
    ['::ffff:8.8.8.8', 'public', 'unicast'],
    ['64:ff9b::808:808', 'public', 'unicast'],
    ['2606:4700:4700::1111', 'public', 'unicast'],
    ['not-an-address', 'never', 'not an IP address'],
  ])('%s is %s (%s)', (address, kind, range) => {
    expect(classifyAddress(address)).toMatchObject({ class: kind, range });
  });
});

describe('the default policy (no SYNCLINE_UPSTREAM_ALLOW)', () => {
  const policy = createUpstreamPolicy();

  it.each(refusedUpstreamUrls)('refuses %s', (url) => {
    expect(policy.refuseHost(new URL(url))).toMatch(/address/);
  });

  it('accepts public names and addresses', () => {
    for (const url of ['https://api.payme.example', 'http://8.8.8.8', 'http://[2606:4700::1]']) {
      expect(policy.refuseHost(new URL(url)), url).toBeUndefined();
    }
  });

  it('judges what a name resolves to', () => {
    expect(policy.refuseAddress('shop.example', '93.184.215.14', 443)).toBeUndefined();
    expect(policy.refuseAddress('shop.example', '127.0.0.1', 443)).toBe(
      'shop.example resolves to 127.0.0.1, which is a loopback address; loopback, private and ' +
        'reserved addresses are refused unless SYNCLINE_UPSTREAM_ALLOW lists them',
    );
    expect(policy.refuseAddress('x.example', '::ffff:a9fe:a9fe', 80)).toMatch(/never allowed/);
  });
});

describe('an allow-list', () => {
  it('names the only hosts a URL may name; addresses and CIDRs open private networks', () => {
    const policy = createUpstreamPolicy([
      'api.payme.example',
      '*.shops.example',
      '127.0.0.1:9000',
      '10.20.0.0/16',
      '[fd00::5]',
      'internal.example',
    ]);
    const ok = (url: string) => expect(policy.refuseHost(new URL(url)), url).toBeUndefined();
    const no = (url: string) => expect(policy.refuseHost(new URL(url)), url).toBeDefined();
    ok('https://api.payme.example');
    ok('https://a.shops.example');
    ok('http://127.0.0.1:9000');
    ok('http://2130706433:9000');
    ok('http://[::ffff:127.0.0.1]:9000');
    ok('http://10.20.3.4');
    ok('http://[fd00::5]');
    no('http://127.0.0.1:9001');
    no('http://10.21.0.1');
    no('https://evil.example');
    no('https://shops.example.evil.example');
    // A listed name may be named, but only addresses the list covers open private networks.
    expect(policy.refuseAddress('internal.example', '10.20.0.9', 80)).toBeUndefined();
    expect(policy.refuseAddress('internal.example', '10.30.0.9', 80)).toMatch(/private/);
    expect(policy.refuseAddress('a.shops.example', '127.0.0.1', 9000)).toBeUndefined();
    expect(policy.refuseAddress('a.shops.example', '127.0.0.1', 9001)).toMatch(/loopback/);
  });

  it('never opens link-local, metadata, multicast or unspecified addresses', () => {
    const policy = createUpstreamPolicy(['0.0.0.0/0', '::/0', 'metadata.google.internal']);
    expect(policy.refuseHost(new URL('http://10.0.0.1'))).toBeUndefined();
    for (const url of [
      'http://169.254.169.254',
      'http://[fe80::1]',
      'http://100.100.100.200',
      'http://224.0.0.1',
      'http://0.0.0.0',
      'http://metadata.google.internal',
    ]) {
      expect(policy.refuseHost(new URL(url)), url).toMatch(/never allowed/);
    }
  });

  it('refuses entries that are not hosts, addresses or CIDRs', () => {
    for (const entry of ['10.0.0.0/33', 'http://x.example', 'a b', '*.', 'x.example/path']) {
      expect(() => compileAllowList([entry]), entry).toThrow(/not a host/);
    }
    expect(compileAllowList(['fd00::/8', '[fd00::]/8', '::1']).networks).toHaveLength(3);
  });
});

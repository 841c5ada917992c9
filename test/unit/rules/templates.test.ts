import { describe, expect, it } from 'vitest';
import { TemplateError } from '#rules/errors';
import {
  copyDate,
  DEFAULT_IMAGE_DESCRIPTION,
  DEFAULT_IMAGE_NAME,
  DEFAULT_SNAPSHOT_DESCRIPTION,
  IMAGE_PLACEHOLDERS,
  imageNameTemplateProblems,
  placeholdersOf,
  renderDescription,
  renderImageName,
  renderTemplate,
  SNAPSHOT_PLACEHOLDERS,
  templateProblems,
} from '#rules/templates';

const values = {
  sourceId: 'snap-0a1b2c3d4e5f60718',
  sourceRegion: 'us-east-1',
  rule: 'ebs-to-dr',
  date: '2026-11-21',
  description: 'nightly db',
  volumeId: 'vol-0f1e2d3c4b5a69788',
};

describe('copy templates', () => {
  it('It should fill every placeholder, repeats included, and keep the text around them', () => {
    expect(renderTemplate('{rule}/{sourceId}@{sourceRegion} {date} {sourceId}', values)).toBe(
      'ebs-to-dr/snap-0a1b2c3d4e5f60718@us-east-1 2026-11-21 snap-0a1b2c3d4e5f60718',
    );
    expect(renderTemplate('no placeholders', {})).toBe('no placeholders');
    expect(renderTemplate(DEFAULT_SNAPSHOT_DESCRIPTION, values)).toBe(
      'nightly db (copy of snap-0a1b2c3d4e5f60718 from us-east-1)',
    );
  });

  it('It should refuse to render a placeholder without a value or a template with stray braces', () => {
    expect(() => renderTemplate('{volumeId}', { sourceId: 'x' })).toThrow(TemplateError);
    expect(() => renderTemplate('{volumeId}', { sourceId: 'x' })).toThrow('no value for {volumeId}');
    expect(() => renderTemplate('a } b', values)).toThrow(/closes no placeholder/);
    expect(renderTemplate('{description}', { description: '' })).toBe('');
  });

  it('It should name each unknown placeholder and each unbalanced brace', () => {
    expect(templateProblems('{sourceId} {name}', SNAPSHOT_PLACEHOLDERS)).toEqual([
      expect.stringMatching(/^unknown placeholder \{name\}; expected one of \{sourceId\}, \{sourceRegion\}/),
    ]);
    expect(templateProblems('{name} {volumeId}', IMAGE_PLACEHOLDERS)).toEqual([
      expect.stringContaining('unknown placeholder {volumeId}'),
    ]);
    expect(templateProblems('{Name}', IMAGE_PLACEHOLDERS)).toEqual([
      expect.stringContaining('unknown placeholder {Name}'),
    ]);
    expect(templateProblems('copy of {sourceId', SNAPSHOT_PLACEHOLDERS)).toEqual([
      '"{" at position 8 is not closed by "}" (braces are reserved for placeholders)',
    ]);
    expect(templateProblems('{a{sourceId}', SNAPSHOT_PLACEHOLDERS)).toEqual([
      expect.stringContaining('"{" at position 0 is not closed'),
    ]);
    expect(templateProblems(DEFAULT_SNAPSHOT_DESCRIPTION, SNAPSHOT_PLACEHOLDERS)).toEqual([]);
    expect(templateProblems(DEFAULT_IMAGE_DESCRIPTION, IMAGE_PLACEHOLDERS)).toEqual([]);
    expect(placeholdersOf('{a}-{b}-{a}')).toEqual(['a', 'b', 'a']);
  });

  it('It should trim a description (an empty source description leaves no stray space) and cap it at 255', () => {
    expect(renderDescription(DEFAULT_SNAPSHOT_DESCRIPTION, { ...values, description: '' })).toBe(
      '(copy of snap-0a1b2c3d4e5f60718 from us-east-1)',
    );
    const long = renderDescription('{description}', { description: 'é'.repeat(300) });
    expect(long).toHaveLength(255);
  });

  it('It should give the UTC day of a copy', () => {
    expect(copyDate(new Date('2026-11-21T23:59:59.999Z'))).toBe('2026-11-21');
    expect(copyDate(new Date('2026-11-22T00:00:00+02:00'))).toBe('2026-11-21');
  });
});

describe('AMI name templates', () => {
  const image = {
    sourceId: 'ami-0b1c2d3e4f5a60718',
    sourceRegion: 'us-west-2',
    rule: 'r',
    date: '2026-11-21',
  };

  it('It should render the default name and replace characters an AMI name cannot hold', () => {
    expect(renderImageName(DEFAULT_IMAGE_NAME, { ...image, name: 'web-1', description: '' })).toBe(
      'web-1-ami-0b1c2d3e4f5a60718',
    );
    expect(
      renderImageName('{name} {description} {sourceId}', { ...image, name: 'web', description: 'a*b,c' }),
    ).toBe('web a-b-c ami-0b1c2d3e4f5a60718');
  });

  it('It should shorten {description}, then {name}, never the source id, to fit 128 characters', () => {
    const name = renderImageName('{name}-{sourceId}', { ...image, name: 'n'.repeat(128), description: '' });
    expect(name).toHaveLength(128);
    expect(name.endsWith('-ami-0b1c2d3e4f5a60718')).toBe(true);

    const both = renderImageName('{name} {description} {sourceId}', {
      ...image,
      name: 'web-server',
      description: 'd'.repeat(200),
    });
    expect(both).toHaveLength(128);
    expect(both.startsWith('web-server d')).toBe(true);
    expect(both.endsWith(' ami-0b1c2d3e4f5a60718')).toBe(true);
  });

  it('It should check statically what a name template can render', () => {
    expect(imageNameTemplateProblems(DEFAULT_IMAGE_NAME)).toEqual([]);
    expect(imageNameTemplateProblems('backup {date}')).toEqual([
      expect.stringMatching(/^must contain \{sourceId\} or \{name\}: AMI names are unique/),
    ]);
    expect(imageNameTemplateProblems('copy*{sourceId}#')).toEqual([
      expect.stringMatching(/^"\*", "#" cannot be in an AMI name/),
    ]);
    expect(imageNameTemplateProblems(`${'x'.repeat(110)}-{sourceId}`)).toEqual([
      expect.stringMatching(/^can render 132 characters .*at most 128/),
    ]);
    expect(imageNameTemplateProblems('{description}{sourceId}')).toEqual([]);
    expect(imageNameTemplateProblems('{name}')).toEqual([]);
    expect(imageNameTemplateProblems('{description}')).toEqual([
      expect.stringContaining('can render only 0 characters'),
      expect.stringContaining('must contain {sourceId} or {name}'),
    ]);
    expect(imageNameTemplateProblems('{bogus}-{sourceId}')).toEqual([
      expect.stringContaining('unknown placeholder {bogus}'),
    ]);
  });

  it('It should count {rule} at the length of the rule that uses the template', () => {
    const template = `${'x'.repeat(100)}{rule}{sourceId}`;
    expect(imageNameTemplateProblems(template)).toEqual([]);
    expect(imageNameTemplateProblems(template, 'r'.repeat(10))).toEqual([
      expect.stringContaining('can render 131 characters'),
    ]);
    expect(imageNameTemplateProblems(template, 'short')).toEqual([]);
  });
});

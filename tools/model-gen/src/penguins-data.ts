// Palmer Penguins, loaded from the copy vendored in ../data (see
// data/LICENSE-penguins.md). Reading the vendored file, not the npm package,
// keeps the generated models tied to bytes committed in this repo.
import { readFileSync } from 'node:fs';

/** Feature columns in the order the models' `features` input expects. Raw units. */
export const FEATURE_NAMES = [
  'Beak Length (mm)',
  'Beak Depth (mm)',
  'Flipper Length (mm)',
  'Body Mass (g)',
] as const;

/** Class labels sorted alphabetically; the index is the model's `label` output. */
export const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'] as const;
export type Species = (typeof SPECIES)[number];

export interface Dataset {
  /** One row per penguin, FEATURE_NAMES order. */
  x: number[][];
  /** Class index into SPECIES. */
  y: number[];
}

// Same relative path from src/ (tests) and dist/ (built CLI).
const DATA_URL = new URL('../data/penguins.json', import.meta.url);

type Row = Record<string, unknown>;

/**
 * Rows with a missing (null) feature or species are dropped: 2 of 344 in
 * the published file. Sex is not a feature, so its nulls do not matter.
 */
export function parsePenguins(rows: readonly Row[]): Dataset {
  const x: number[][] = [];
  const y: number[] = [];
  for (const row of rows) {
    const species = row['Species'];
    const features = FEATURE_NAMES.map((name) => row[name]);
    if (typeof species !== 'string' || !features.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    const label = SPECIES.indexOf(species as Species);
    if (label < 0) throw new Error(`unknown species ${JSON.stringify(species)}`);
    x.push(features as number[]);
    y.push(label);
  }
  return { x, y };
}

export function loadPenguins(): Dataset {
  const rows = JSON.parse(readFileSync(DATA_URL, 'utf8')) as unknown;
  if (!Array.isArray(rows)) throw new Error(`${DATA_URL.pathname}: expected a JSON array`);
  return parsePenguins(rows as Row[]);
}

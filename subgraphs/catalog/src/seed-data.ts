/**
 * The demo catalog, generated deterministically (seeded PRNG): 3 category levels with 10 leaf
 * categories, 20 brands, 500 SPUs and 2,000 SKUs with Chinese and English titles, sale attributes
 * (two axes, 2×2 SKUs per SPU), base attributes, exact prices and stock. Pure data, no I/O.
 */
import { defined } from "@mallgraph/platform/errors";
import { KINDS, type Axis, type Kind } from "./seed-kinds.ts";

export function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TREE: Array<{ zh: string; en: string; children: Array<{ zh: string; en: string; leaves: Array<[string, string, Kind]> }> }> = [
  {
    zh: "手机数码",
    en: "Phones & Digital",
    children: [
      {
        zh: "手机通讯",
        en: "Mobile",
        leaves: [
          ["手机", "Smartphones", "phone"],
          ["游戏手机", "Gaming Phones", "phone"],
        ],
      },
      {
        zh: "数码配件",
        en: "Digital Accessories",
        leaves: [
          ["耳机", "Headphones", "audio"],
          ["智能手表", "Smartwatches", "watch"],
        ],
      },
    ],
  },
  {
    zh: "电脑办公",
    en: "Computers & Office",
    children: [
      {
        zh: "电脑整机",
        en: "Computers",
        leaves: [
          ["笔记本", "Laptops", "laptop"],
          ["平板电脑", "Tablets", "tablet"],
        ],
      },
    ],
  },
  {
    zh: "家用电器",
    en: "Home Appliances",
    children: [
      {
        zh: "大家电",
        en: "Major Appliances",
        leaves: [
          ["电视", "TVs", "tv"],
          ["冰箱", "Refrigerators", "fridge"],
          ["空调", "Air Conditioners", "ac"],
        ],
      },
    ],
  },
  {
    zh: "运动户外",
    en: "Sports & Outdoors",
    children: [{ zh: "运动鞋", en: "Sports Shoes", leaves: [["跑步鞋", "Running Shoes", "shoe"]] }],
  },
];

const BRANDS: Array<[string, string, Partial<Record<Kind, string[]>>]> = [
  [
    "华为",
    "Huawei",
    {
      phone: ["Mate", "Pura", "nova"],
      audio: ["FreeBuds"],
      watch: ["WATCH GT", "WATCH Fit"],
      laptop: ["MateBook X", "MateBook D"],
      tablet: ["MatePad Pro", "MatePad Air"],
    },
  ],
  [
    "小米",
    "Xiaomi",
    {
      phone: ["Xiaomi", "Redmi K", "Civi"],
      audio: ["Buds"],
      watch: ["Watch S"],
      tablet: ["Pad"],
      tv: ["电视 S Pro", "Redmi A"],
      fridge: ["米家"],
      ac: ["巨省电"],
    },
  ],
  [
    "苹果",
    "Apple",
    {
      phone: ["iPhone"],
      audio: ["AirPods Pro", "AirPods"],
      watch: ["Watch Series", "Watch Ultra"],
      laptop: ["MacBook Air", "MacBook Pro"],
      tablet: ["iPad Air", "iPad Pro"],
    },
  ],
  ["OPPO", "OPPO", { phone: ["Find X", "Reno"], audio: ["Enco X"], watch: ["Watch X"] }],
  ["vivo", "vivo", { phone: ["X", "S", "iQOO"], audio: ["TWS"] }],
  ["荣耀", "Honor", { phone: ["Magic", "Honor"], laptop: ["MagicBook"], tablet: ["MagicPad"], watch: ["Watch GS"] }],
  ["三星", "Samsung", { phone: ["Galaxy S", "Galaxy Z Fold"], tablet: ["Galaxy Tab S"], tv: ["Neo QLED"], fridge: ["Bespoke"] }],
  ["联想", "Lenovo", { laptop: ["ThinkPad X1", "YOGA", "Legion Y"], tablet: ["小新 Pad"], phone: ["Legion Phone"] }],
  ["戴尔", "Dell", { laptop: ["XPS", "Inspiron", "Latitude"] }],
  ["惠普", "HP", { laptop: ["Spectre x360", "ENVY", "战66"] }],
  ["华硕", "ASUS", { laptop: ["ROG 幻", "ZenBook", "天选"], phone: ["ROG Phone"] }],
  ["海尔", "Haier", { fridge: ["卡萨帝", "冰箱 BCD"], ac: ["静悦"], tv: ["雷神者"] }],
  ["美的", "Midea", { fridge: ["冰箱 M60"], ac: ["酷省电", "风尊"] }],
  ["格力", "Gree", { ac: ["云佳", "天丽", "京桂"] }],
  ["索尼", "Sony", { audio: ["WF-1000XM", "WH-1000XM"], tv: ["BRAVIA"] }],
  ["TCL", "TCL", { tv: ["Q10K", "T7K"], ac: ["小蓝翼"], fridge: ["格物"] }],
  ["海信", "Hisense", { tv: ["E8", "U8"], fridge: ["璀璨"] }],
  ["耐克", "Nike", { shoe: ["Pegasus", "Vomero", "Invincible"] }],
  ["阿迪达斯", "Adidas", { shoe: ["Ultraboost", "Adizero", "Supernova"] }],
  ["李宁", "Li-Ning", { shoe: ["飞电", "赤兔", "超轻"] }],
];

const MODIFIERS = ["Pro", "Ultra", "Max", "Plus", "Lite", "SE", "", "", ""];

export interface SeedData {
  categories: Array<{ id: string; parentId: string | null; name: string; level: number; sort: number }>;
  brands: Array<{ id: string; name: string; logo: string; description: string; sort: number }>;
  categoryBrands: Array<{ categoryId: string; brandId: string }>;
  attributes: Array<{ id: string; categoryId: string; name: string; kind: "BASE" | "SALE"; searchable: boolean; sort: number }>;
  attributeValues: Array<{ id: string; attributeId: string; value: string; sort: number }>;
  spus: Array<{
    id: string;
    title: string;
    subtitle: string;
    description: string;
    images: string[];
    categoryId: string;
    brandId: string;
    status: "ON_SHELF";
    onShelfAt: Date;
    sales: number;
  }>;
  spuAttributeValues: Array<{ spuId: string; attributeValueId: string }>;
  skus: Array<{ id: string; spuId: string; code: string; title: string; price: string; currency: string; images: string[]; sort: number }>;
  skuAttributeValues: Array<{ skuId: string; attributeValueId: string }>;
  inventory: Array<{ skuId: string; available: number }>;
  frontCategories: Array<{
    id: string;
    name: string;
    sort: number;
    kind: "NORMAL" | "NEW" | "SECKILL" | "FULL_REDUCTION";
    backCategoryIds: string[];
  }>;
}

const pad = (n: number, w = 4) => String(n).padStart(w, "0");

export function generateCatalog(opts: { spus?: number; now?: number; seed?: number } = {}): SeedData {
  const rng = mulberry32(opts.seed ?? 20261122);
  const pick = <T>(a: readonly T[]): T => defined(a[Math.floor(rng() * a.length)], "a pick from an empty list");
  const now = opts.now ?? Date.now();
  const d: SeedData = {
    categories: [],
    brands: [],
    categoryBrands: [],
    attributes: [],
    attributeValues: [],
    spus: [],
    spuAttributeValues: [],
    skus: [],
    skuAttributeValues: [],
    inventory: [],
    frontCategories: [],
  };

  const leaves: Array<{ id: string; kind: Kind; rootId: string; sale: [string[], string[]]; base: string[] }> = [];
  TREE.forEach((root, ri) => {
    const rootId = `seed-cat-${ri + 1}`;
    d.categories.push({ id: rootId, parentId: null, name: `${root.zh} ${root.en}`, level: 1, sort: ri });
    root.children.forEach((mid, mi) => {
      const midId = `${rootId}-${mi + 1}`;
      d.categories.push({ id: midId, parentId: rootId, name: `${mid.zh} ${mid.en}`, level: 2, sort: mi });
      mid.leaves.forEach(([zh, en, kind], li) => {
        const id = `${midId}-${li + 1}`;
        d.categories.push({ id, parentId: midId, name: `${zh} ${en}`, level: 3, sort: li });
        const k = KINDS[kind];
        const axisIds = (axis: Axis, kindName: "SALE" | "BASE", ai: number) => {
          const attributeId = `seed-attr-${id}-${kindName.toLowerCase()}${ai}`;
          d.attributes.push({
            id: attributeId,
            categoryId: id,
            name: `${axis.zh} ${axis.en}`,
            kind: kindName,
            searchable: true,
            sort: kindName === "SALE" ? ai : 10 + ai,
          });
          return axis.values.map(([vz, ve], vi) => {
            const vid = `${attributeId}-${vi + 1}`;
            d.attributeValues.push({ id: vid, attributeId, value: vz === ve ? vz : `${vz} ${ve}`, sort: vi });
            return vid;
          });
        };
        leaves.push({
          id,
          kind,
          rootId,
          sale: [axisIds(k.sale[0], "SALE", 0), axisIds(k.sale[1], "SALE", 1)],
          base: axisIds(k.base, "BASE", 0),
        });
      });
    });
  });

  BRANDS.forEach(([zh, en, kinds], bi) => {
    const id = `seed-brand-${pad(bi + 1, 2)}`;
    d.brands.push({
      id,
      name: zh === en ? en : `${zh} ${en}`,
      logo: `https://img.mallgraph.local/brands/${en.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.png`,
      description: `${zh} ${en} 官方旗舰店 official store`,
      sort: bi,
    });
    for (const l of leaves) if (kinds[l.kind]) d.categoryBrands.push({ categoryId: l.id, brandId: id });
  });

  const total = opts.spus ?? 500;
  for (let i = 0; i < total; i++) {
    const leaf = defined(leaves[i % leaves.length], "a leaf category");
    const k = KINDS[leaf.kind];
    const makers = BRANDS.map((b, bi) => ({ b, bi })).filter(({ b }) => b[2][leaf.kind]);
    const {
      b: [bzh, ben, kinds],
      bi,
    } = pick(makers);
    const series = defined(kinds[leaf.kind], `${ben}'s series of ${leaf.kind}`);
    const brandId = `seed-brand-${pad(bi + 1, 2)}`;
    const model = `${pick(series)} ${10 + Math.floor(rng() * 60)}${pick(MODIFIERS) ? " " + pick(MODIFIERS) : ""}`.trim();
    const id = `seed-spu-${pad(i + 1)}`;
    const title = `${bzh === ben ? ben : bzh} ${model} ${k.zh} ${ben} ${model} ${k.en}`;
    const base = Math.round((k.price[0] + rng() * (k.price[1] - k.price[0])) / 100) * 100 - 1;
    const [axisA, axisB] = leaf.sale;
    const a0 = Math.floor(rng() * (axisA.length - 1));
    const b0 = Math.floor(rng() * (axisB.length - 1));
    const image = `https://img.mallgraph.local/spu/${id}.jpg`;
    d.spus.push({
      id,
      title,
      subtitle: `${ben} ${model} — ${k.en}, 官方正品 全国联保`,
      description: `${title}。正品行货，顺丰包邮，7天无理由退货。Genuine product, free shipping, 7-day returns.`,
      images: [image, `https://img.mallgraph.local/spu/${id}-2.jpg`],
      categoryId: leaf.id,
      brandId,
      status: "ON_SHELF",
      onShelfAt: new Date(now - Math.floor(rng() * 60 * 24 * 3600 * 1000)),
      sales: Math.floor(rng() ** 2 * 5000),
    });
    d.spuAttributeValues.push({ spuId: id, attributeValueId: pick(leaf.base) });
    const shortTitle = `${bzh === ben ? ben : bzh} ${model}`;
    let n = 0;
    for (const ai of [a0, a0 + 1])
      for (const bj of [b0, b0 + 1]) {
        const skuId = `${id}-${n + 1}`;
        const av = defined(
          d.attributeValues.find((v) => v.id === axisA[ai]),
          `attribute value ${axisA[ai]}`,
        );
        const bv = defined(
          d.attributeValues.find((v) => v.id === axisB[bj]),
          `attribute value ${axisB[bj]}`,
        );
        const price = base + (bj - b0) * k.step;
        d.skus.push({
          id: skuId,
          spuId: id,
          code: `SKU-${pad(i + 1)}-${n + 1}`,
          title: `${shortTitle} ${bv.value.split(" ")[0]} ${av.value.split(" ")[0]}`,
          price: `${price}.00`,
          currency: "CNY",
          images: [`https://img.mallgraph.local/sku/${skuId}.jpg`],
          sort: n,
        });
        d.skuAttributeValues.push({ skuId, attributeValueId: av.id }, { skuId, attributeValueId: bv.id });
        d.inventory.push({ skuId, available: rng() < 0.05 ? 0 : 10 + Math.floor(rng() * 490) });
        n++;
      }
  }

  const leafIds = (kind: Kind[]) => leaves.filter((l) => kind.includes(l.kind)).map((l) => l.id);
  d.frontCategories.push(
    { id: "seed-front-new", name: "新品首发 New Arrivals", sort: 0, kind: "NEW", backCategoryIds: [] },
    { id: "seed-front-seckill", name: "限时秒杀 Flash Sale", sort: 1, kind: "SECKILL", backCategoryIds: [] },
    { id: "seed-front-phones", name: "手机 Phones", sort: 2, kind: "NORMAL", backCategoryIds: leafIds(["phone"]) },
    { id: "seed-front-digital", name: "数码 Digital", sort: 3, kind: "NORMAL", backCategoryIds: leafIds(["audio", "watch", "tablet"]) },
    { id: "seed-front-computers", name: "电脑 Computers", sort: 4, kind: "NORMAL", backCategoryIds: leafIds(["laptop", "tablet"]) },
    { id: "seed-front-appliances", name: "家电 Appliances", sort: 5, kind: "NORMAL", backCategoryIds: ["seed-cat-3"] },
    {
      id: "seed-front-full-reduction",
      name: "满减专区 Spend & Save",
      sort: 6,
      kind: "FULL_REDUCTION",
      backCategoryIds: ["seed-cat-3", "seed-cat-4"],
    },
    { id: "seed-front-sports", name: "运动 Sports", sort: 7, kind: "NORMAL", backCategoryIds: ["seed-cat-4"] },
  );
  return d;
}

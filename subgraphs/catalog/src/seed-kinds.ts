/**
 * The demo catalog's product kinds (seed-data.ts): per kind its names, price range and step, two sale
 * axes, one base attribute and, for some, series names. Pure data.
 */
export type Kind = "phone" | "audio" | "watch" | "laptop" | "tablet" | "tv" | "fridge" | "ac" | "shoe";
export type Axis = { zh: string; en: string; values: Array<[string, string]>; searchable?: boolean };

export const KINDS: Record<
  Kind,
  { zh: string; en: string; price: [number, number]; step: number; sale: [Axis, Axis]; base: Axis; series?: string[] }
> = {
  phone: {
    zh: "智能手机",
    en: "Smartphone",
    price: [999, 8999],
    step: 500,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["雅丹黑", "Black"],
          ["白沙银", "Silver"],
          ["翡冷翠", "Green"],
          ["南糯紫", "Purple"],
        ],
      },
      {
        zh: "存储",
        en: "Storage",
        values: [
          ["8GB+256GB", "8GB+256GB"],
          ["12GB+256GB", "12GB+256GB"],
          ["12GB+512GB", "12GB+512GB"],
          ["16GB+1TB", "16GB+1TB"],
        ],
      },
    ],
    base: {
      zh: "屏幕尺寸",
      en: "Screen",
      values: [
        ["6.1英寸", '6.1"'],
        ["6.7英寸", '6.7"'],
        ["6.8英寸", '6.8"'],
      ],
    },
  },
  audio: {
    zh: "无线耳机",
    en: "Wireless Earbuds",
    price: [199, 2499],
    step: 200,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["曜石黑", "Black"],
          ["陶瓷白", "White"],
          ["冰川蓝", "Blue"],
        ],
      },
      {
        zh: "版本",
        en: "Edition",
        values: [
          ["标准版", "Standard"],
          ["降噪版", "ANC"],
        ],
      },
    ],
    base: {
      zh: "连接方式",
      en: "Connection",
      values: [
        ["蓝牙5.3", "Bluetooth 5.3"],
        ["蓝牙5.4", "Bluetooth 5.4"],
      ],
    },
  },
  watch: {
    zh: "智能手表",
    en: "Smartwatch",
    price: [499, 4999],
    step: 300,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["幻夜黑", "Black"],
          ["月光银", "Silver"],
          ["流光金", "Gold"],
        ],
      },
      {
        zh: "表盘尺寸",
        en: "Case Size",
        values: [
          ["42mm", "42mm"],
          ["46mm", "46mm"],
        ],
      },
    ],
    base: {
      zh: "续航",
      en: "Battery Life",
      values: [
        ["7天", "7 days"],
        ["14天", "14 days"],
      ],
    },
  },
  laptop: {
    zh: "笔记本电脑",
    en: "Laptop",
    price: [3999, 19999],
    step: 1000,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["深空灰", "Space Grey"],
          ["皓月银", "Silver"],
        ],
      },
      {
        zh: "配置",
        en: "Configuration",
        values: [
          ["i5/16GB/512GB", "i5/16GB/512GB"],
          ["i7/32GB/1TB", "i7/32GB/1TB"],
          ["Ultra7/32GB/1TB", "Ultra7/32GB/1TB"],
        ],
      },
    ],
    base: {
      zh: "屏幕尺寸",
      en: "Screen",
      values: [
        ["14英寸", '14"'],
        ["16英寸", '16"'],
      ],
    },
  },
  tablet: {
    zh: "平板电脑",
    en: "Tablet",
    price: [1499, 8999],
    step: 500,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["星空灰", "Grey"],
          ["冰霜银", "Silver"],
          ["晴山蓝", "Blue"],
        ],
      },
      {
        zh: "存储",
        en: "Storage",
        values: [
          ["8GB+128GB", "8GB+128GB"],
          ["8GB+256GB", "8GB+256GB"],
          ["12GB+512GB", "12GB+512GB"],
        ],
      },
    ],
    base: {
      zh: "屏幕尺寸",
      en: "Screen",
      values: [
        ["11英寸", '11"'],
        ["12.4英寸", '12.4"'],
      ],
    },
  },
  tv: {
    zh: "智能电视",
    en: "Smart TV",
    price: [1999, 19999],
    step: 1000,
    sale: [
      {
        zh: "尺寸",
        en: "Size",
        values: [
          ["55英寸", '55"'],
          ["65英寸", '65"'],
          ["75英寸", '75"'],
          ["85英寸", '85"'],
        ],
      },
      {
        zh: "版本",
        en: "Edition",
        values: [
          ["标准版", "Standard"],
          ["旗舰版", "Flagship"],
        ],
      },
    ],
    base: {
      zh: "分辨率",
      en: "Resolution",
      values: [
        ["4K", "4K"],
        ["8K", "8K"],
      ],
    },
  },
  fridge: {
    zh: "冰箱",
    en: "Refrigerator",
    price: [1999, 12999],
    step: 800,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["釉白", "White"],
          ["星空灰", "Grey"],
          ["香槟金", "Champagne"],
        ],
      },
      {
        zh: "容量",
        en: "Capacity",
        values: [
          ["400L", "400L"],
          ["500L", "500L"],
          ["600L", "600L"],
        ],
      },
    ],
    base: {
      zh: "门款",
      en: "Doors",
      values: [
        ["对开门", "Side-by-side"],
        ["十字四门", "French door"],
      ],
    },
  },
  ac: {
    zh: "空调",
    en: "Air Conditioner",
    price: [1999, 9999],
    step: 600,
    sale: [
      {
        zh: "匹数",
        en: "Power",
        values: [
          ["1匹", "1 HP"],
          ["1.5匹", "1.5 HP"],
          ["3匹", "3 HP"],
        ],
      },
      {
        zh: "能效",
        en: "Efficiency",
        values: [
          ["一级能效", "Grade 1"],
          ["三级能效", "Grade 3"],
        ],
      },
    ],
    base: {
      zh: "类型",
      en: "Type",
      values: [
        ["挂机", "Wall-mounted"],
        ["柜机", "Floor-standing"],
      ],
    },
  },
  shoe: {
    zh: "跑步鞋",
    en: "Running Shoes",
    price: [299, 1499],
    step: 100,
    sale: [
      {
        zh: "颜色",
        en: "Colour",
        values: [
          ["黑白", "Black/White"],
          ["荧光绿", "Neon Green"],
          ["中国红", "Red"],
        ],
      },
      {
        zh: "尺码",
        en: "Size",
        values: [
          ["40", "EU 40"],
          ["41", "EU 41"],
          ["42", "EU 42"],
          ["43", "EU 43"],
        ],
      },
    ],
    base: {
      zh: "适用场景",
      en: "Use",
      values: [
        ["跑步", "Running"],
        ["训练", "Training"],
      ],
    },
  },
};

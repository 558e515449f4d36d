/** The search backends' one interface, and the document / query / result shapes they share. */

/** One document per SPU on shelf. Prices are exact decimal strings. */
export interface SearchDoc {
  spuId: string;
  title: string;
  categoryId: string;
  brandId: string | null;
  brandName: string | null;
  brandLogo: string | null;
  defaultImage: string | null;
  minPrice: string;
  currency: string;
  inStock: boolean;
  onShelfAt: Date | null;
  sales: number;
  attributeValueIds: string[];
}

export type SearchSort = "RELEVANCE" | "SALES" | "NEWEST" | "PRICE_ASC" | "PRICE_DESC";

export interface SearchQuery {
  keyword?: string | null;
  /** Keyword split into words (Chinese runs and English words), lower-cased; every one must match. */
  tokens: string[];
  /** Level-3 category ids (a higher-level category is expanded to its leaves by the service). */
  categoryIds?: string[] | null;
  brandIds?: string[] | null;
  /** Groups of attribute value ids: OR inside a group (one attribute), AND across groups. */
  attributeGroups: string[][];
  minPrice?: string | null;
  maxPrice?: string | null;
  sort: SearchSort;
  first: number;
  /** Keyset pagination: the sort key of the last item of the previous page (backend-specific values). */
  after: SortKey | null;
}

export type SortKey = Array<string | number | null>;

export interface SearchResult {
  total: number;
  items: SearchDoc[];
  facets: {
    brands: Array<{ id: string; name: string; count: number }>;
    attributeValues: Array<{ id: string; count: number }>;
  };
  hasNextPage: boolean;
  /** Sort key of the last returned item (the next page starts after it). */
  endKey: SortKey | null;
}

export interface SearchBackend {
  readonly name: string;
  index(docs: SearchDoc[]): Promise<void>;
  remove(spuIds: string[]): Promise<void>;
  search(query: SearchQuery): Promise<SearchResult>;
}

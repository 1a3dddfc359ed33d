package api

// Search is the /v1/search endpoints.
type Search struct{ c *Client }

// Search returns the search endpoints.
func (c *Client) Search() *Search { return &Search{c: c} }

// Prefix returns the IDs starting with prefix of the objects of context
// (SearchAll for every kind), at most 20 of each kind.
func (s *Search) Prefix(prefix, context string) (*SearchResponse, error) {
	var out SearchResponse
	if err := s.c.write("PUT", "/v1/search", nil, &SearchRequest{Prefix: prefix, Context: context}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Fuzzy returns the objects of context whose name contains text.
func (s *Search) Fuzzy(text, context string) (*FuzzySearchResponse, error) {
	var out FuzzySearchResponse
	if err := s.c.write("PUT", "/v1/search/fuzzy", nil, &FuzzySearchRequest{Text: text, Context: context}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

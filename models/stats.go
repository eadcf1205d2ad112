package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// AddCounts adds to the daily anonymous counters: a day, a counter name,
// a number, and nothing else. Names never carry identifiers.
func (s *Store) AddCounts(ctx context.Context, counts map[[2]string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		for k, n := range counts {
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "day"}, {Name: "name"}},
				DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("usage_counters.count + ?", n)}),
			}).Create(&UsageCounter{Day: k[0], Name: k[1], Count: n}).Error
			if err != nil {
				return fmt.Errorf("models: add counts: %w", err)
			}
		}
		return nil
	})
}

// Counters lists the counters of the days from through to (YYYY-MM-DD).
func (s *Store) Counters(ctx context.Context, from, to string) ([]UsageCounter, error) {
	var out []UsageCounter
	err := s.db(ctx).Where("day >= ? AND day <= ?", from, to).Order("day, name").Find(&out).Error
	return out, err
}

// CounterTotals sums each counter over all days.
func (s *Store) CounterTotals(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Name  string
		Total int64
	}
	err := s.db(ctx).Model(&UsageCounter{}).Select("name, SUM(count) AS total").Group("name").Scan(&rows).Error
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Name] = r.Total
	}
	return out, err
}

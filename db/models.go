package db

import (
	"time"
)

// Subscriber is a customer of the carrier.
type Subscriber struct {
	ID            int64
	AccountNumber string
	Name          string
	Email         string
	Phone         string
	// PlanNotices is whether they get the notices about their plans' data
	// and end (rules.NoticeAfterUsage and db/notices.go); the order emails go whatever it says.
	PlanNotices bool
	// Status is the account's in billing: active, suspended or closed.
	Status string
	// BillingAsOf is billing's time of the state held, and BillingChangedAt
	// when billing last changed it (the portal's time); zero for a
	// subscriber billing never sent.
	BillingAsOf, BillingChangedAt time.Time
}

// DomesticPlan is one of the subscriber's home plans. Qualifies marks an
// Unlimited All plan or Unlimited bundle: each one entitles the subscriber to
// one complimentary travel eSIM.
type DomesticPlan struct {
	ID        int64
	BillingID string // billing's own id; "" for a plan billing never sent
	Name      string
	Kind      string // unlimited_all, unlimited_bundle, other
	Lines     int
	Qualifies bool
	Since     time.Time
}

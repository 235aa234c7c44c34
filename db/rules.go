package db

import (
	"github.com/carrier/esim-admin/db/rules"
)

// The model the rules act on lives in package rules (db/rules), with the
// rules themselves; these names let the store and its callers keep saying
// db.ESIM or db.PlanActive. Their home is rules: a field, a method or a
// state is added there.
type (
	Plan       = rules.Plan
	LinePlan   = rules.LinePlan
	ESIM       = rules.ESIM
	Allowance  = rules.Allowance
	Attachment = rules.Attachment
	SMDPOrder  = rules.SMDPOrder
)

// States of an eSIM in the inventory, of a plan on a line, of a profile on
// the phone, of an SM-DP+ order and of an email; the kinds of notice
// (rules.Email…). Their home is package rules.
const (
	StateFree      = rules.StateFree
	StateAllocated = rules.StateAllocated
	StateRetired   = rules.StateRetired

	PlanQueued    = rules.PlanQueued
	PlanActive    = rules.PlanActive
	PlanUsedUp    = rules.PlanUsedUp
	PlanExpired   = rules.PlanExpired
	PlanCancelled = rules.PlanCancelled

	ProfileDownloaded = rules.ProfileDownloaded
	ProfileInstalled  = rules.ProfileInstalled
	ProfileEnabled    = rules.ProfileEnabled
	ProfileDisabled   = rules.ProfileDisabled
	ProfileDeleted    = rules.ProfileDeleted

	SMDPQueued     = rules.SMDPQueued
	SMDPReleased   = rules.SMDPReleased
	SMDPRefused    = rules.SMDPRefused
	SMDPCancelling = rules.SMDPCancelling
	SMDPCancelled  = rules.SMDPCancelled

	EmailQueued = rules.EmailQueued
	EmailSent   = rules.EmailSent
	EmailFailed = rules.EmailFailed

	EmailPlanStarted   = rules.EmailPlanStarted
	EmailDataLow       = rules.EmailDataLow
	EmailDataUsedUp    = rules.EmailDataUsedUp
	EmailEndsSoon      = rules.EmailEndsSoon
	EmailPlanEnded     = rules.EmailPlanEnded
	EmailPlanCancelled = rules.EmailPlanCancelled

	// BytesPerMB: 1 MB is 1,000,000 bytes, as carriers sell data.
	BytesPerMB = rules.BytesPerMB
)

// ProfileEvents are the profile events the SM-DP+ reports (rules.ProfileEvents).
var ProfileEvents = rules.ProfileEvents

package db_test

import (
	"context"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/emails"
)

func init() {
	db.DemoData.Seed = func(ctx context.Context, s *db.Store) error {
		if s.Mail == nil {
			s.Mail = emails.Renderer{}
		}
		_, err := demo.Seed(ctx, s)
		return err
	}
	db.DemoData.AgentEmail, db.DemoData.LeadEmail = demo.AgentEmail, demo.LeadEmail
}

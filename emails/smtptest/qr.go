package smtptest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// QRText reads back the text of the QR code in a PNG, as a phone's camera
// would: the activation code an email or a page carries.
func QRText(pic []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(pic))
	if err != nil {
		return "", fmt.Errorf("decode PNG: %w", err)
	}
	return QRTextOf(img)
}

// QRTextOf reads back the text of the QR code in an image.
func QRTextOf(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("bitmap: %w", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", fmt.Errorf("read QR code: %w", err)
	}
	return res.GetText(), nil
}

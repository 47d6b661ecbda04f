export function Brand() {
  return (
    <div className="brand">
      <img className="brand-mark" src={`${import.meta.env.BASE_URL}icon.svg`} alt="" />
      <span>
        Syncline <span className="brand-tag">Field</span>
      </span>
    </div>
  );
}
